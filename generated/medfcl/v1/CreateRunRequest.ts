// Original file: proto/medfcl/v1/admin.proto

import type { Hyperparameters as _medfcl_v1_Hyperparameters, Hyperparameters__Output as _medfcl_v1_Hyperparameters__Output } from '../../medfcl/v1/Hyperparameters.js';
import type { DeltaEncoding as _medfcl_v1_DeltaEncoding, DeltaEncoding__Output as _medfcl_v1_DeltaEncoding__Output } from '../../medfcl/v1/DeltaEncoding.js';
import type { DropoutPolicy as _medfcl_v1_DropoutPolicy, DropoutPolicy__Output as _medfcl_v1_DropoutPolicy__Output } from '../../medfcl/v1/DropoutPolicy.js';
import type { EvaluationPlacement as _medfcl_v1_EvaluationPlacement, EvaluationPlacement__Output as _medfcl_v1_EvaluationPlacement__Output } from '../../medfcl/v1/EvaluationPlacement.js';
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
  'legacy_dropout_policy'?: (string);
  'delta_encoding'?: (_medfcl_v1_DeltaEncoding);
  'dropout_policy'?: (_medfcl_v1_DropoutPolicy);
  'evaluation'?: (_medfcl_v1_EvaluationPlacement);
  'secure_aggregation'?: (boolean);
  'secure_aggregation_threshold'?: (number);
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
  'legacy_dropout_policy': (string);
  'delta_encoding': (_medfcl_v1_DeltaEncoding__Output);
  'dropout_policy': (_medfcl_v1_DropoutPolicy__Output);
  'evaluation': (_medfcl_v1_EvaluationPlacement__Output);
  'secure_aggregation': (boolean);
  'secure_aggregation_threshold': (number);
}
