// Original file: proto/medfcl/v1/admin.proto

import type { Hyperparameters as _medfcl_v1_Hyperparameters, Hyperparameters__Output as _medfcl_v1_Hyperparameters__Output } from '../../medfcl/v1/Hyperparameters.js';
import type { Long } from '@grpc/proto-loader';

export interface CreateRunRequest {
  'name'?: (string);
  'strategy'?: (string);
  'sites'?: (string)[];
  'hyperparameters'?: (_medfcl_v1_Hyperparameters | null);
  'options'?: ({[key: string]: string});
  'model'?: (string);
  'base_version'?: (string);
  'seed'?: (number | string | Long);
  'dropout_policy'?: (string);
}

export interface CreateRunRequest__Output {
  'name': (string);
  'strategy': (string);
  'sites': (string)[];
  'hyperparameters': (_medfcl_v1_Hyperparameters__Output | null);
  'options': ({[key: string]: string});
  'model': (string);
  'base_version': (string);
  'seed': (number);
  'dropout_policy': (string);
}
