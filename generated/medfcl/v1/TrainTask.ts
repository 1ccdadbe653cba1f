// Original file: proto/medfcl/v1/site.proto

import type { Hyperparameters as _medfcl_v1_Hyperparameters, Hyperparameters__Output as _medfcl_v1_Hyperparameters__Output } from '../../medfcl/v1/Hyperparameters.js';
import type { Long } from '@grpc/proto-loader';

export interface TrainTask {
  'task_id'?: (string);
  'run_id'?: (string);
  'step'?: (number);
  'round'?: (number);
  'base_version'?: (string);
  'base_size'?: (number | string | Long);
  'hyperparameters'?: (_medfcl_v1_Hyperparameters | null);
  'exemplar_ids'?: (string)[];
  'exemplars_wanted'?: (number);
  'exemplar_sampler'?: (string);
  'deadline'?: (string);
  'delta_encoding'?: (string);
  'shots'?: (number);
  'strategy'?: (string);
  'shots_selection'?: (string);
}

export interface TrainTask__Output {
  'task_id': (string);
  'run_id': (string);
  'step': (number);
  'round': (number);
  'base_version': (string);
  'base_size': (number);
  'hyperparameters': (_medfcl_v1_Hyperparameters__Output | null);
  'exemplar_ids': (string)[];
  'exemplars_wanted': (number);
  'exemplar_sampler': (string);
  'deadline': (string);
  'delta_encoding': (string);
  'shots': (number);
  'strategy': (string);
  'shots_selection': (string);
}
