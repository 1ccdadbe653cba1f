// Original file: proto/medfcl/v1/site.proto

import type { Hyperparameters as _medfcl_v1_Hyperparameters, Hyperparameters__Output as _medfcl_v1_Hyperparameters__Output } from '../../medfcl/v1/Hyperparameters.js';
import type { ReplaySampler as _medfcl_v1_ReplaySampler, ReplaySampler__Output as _medfcl_v1_ReplaySampler__Output } from '../../medfcl/v1/ReplaySampler.js';
import type { DeltaEncoding as _medfcl_v1_DeltaEncoding, DeltaEncoding__Output as _medfcl_v1_DeltaEncoding__Output } from '../../medfcl/v1/DeltaEncoding.js';
import type { ShotsSelection as _medfcl_v1_ShotsSelection, ShotsSelection__Output as _medfcl_v1_ShotsSelection__Output } from '../../medfcl/v1/ShotsSelection.js';
import type { SecureAggregation as _medfcl_v1_SecureAggregation, SecureAggregation__Output as _medfcl_v1_SecureAggregation__Output } from '../../medfcl/v1/SecureAggregation.js';
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
  'legacy_exemplar_sampler'?: (string);
  'deadline'?: (string);
  'legacy_delta_encoding'?: (string);
  'shots'?: (number);
  'strategy'?: (string);
  'legacy_shots_selection'?: (string);
  'exemplar_sampler'?: (_medfcl_v1_ReplaySampler);
  'delta_encoding'?: (_medfcl_v1_DeltaEncoding);
  'shots_selection'?: (_medfcl_v1_ShotsSelection);
  'secure_aggregation'?: (_medfcl_v1_SecureAggregation | null);
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
  'legacy_exemplar_sampler': (string);
  'deadline': (string);
  'legacy_delta_encoding': (string);
  'shots': (number);
  'strategy': (string);
  'legacy_shots_selection': (string);
  'exemplar_sampler': (_medfcl_v1_ReplaySampler__Output);
  'delta_encoding': (_medfcl_v1_DeltaEncoding__Output);
  'shots_selection': (_medfcl_v1_ShotsSelection__Output);
  'secure_aggregation': (_medfcl_v1_SecureAggregation__Output | null);
}
