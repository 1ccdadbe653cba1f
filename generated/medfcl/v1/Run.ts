// Original file: proto/medfcl/v1/admin.proto

import type { Step as _medfcl_v1_Step, Step__Output as _medfcl_v1_Step__Output } from '../../medfcl/v1/Step.js';
import type { DeltaEncoding as _medfcl_v1_DeltaEncoding, DeltaEncoding__Output as _medfcl_v1_DeltaEncoding__Output } from '../../medfcl/v1/DeltaEncoding.js';
import type { DropoutPolicy as _medfcl_v1_DropoutPolicy, DropoutPolicy__Output as _medfcl_v1_DropoutPolicy__Output } from '../../medfcl/v1/DropoutPolicy.js';
import type { Hyperparameters as _medfcl_v1_Hyperparameters, Hyperparameters__Output as _medfcl_v1_Hyperparameters__Output } from '../../medfcl/v1/Hyperparameters.js';
import type { EvaluationPlacement as _medfcl_v1_EvaluationPlacement, EvaluationPlacement__Output as _medfcl_v1_EvaluationPlacement__Output } from '../../medfcl/v1/EvaluationPlacement.js';
import type { Long } from '@grpc/proto-loader';

export interface Run {
  'run_id'?: (string);
  'name'?: (string);
  'strategy'?: (string);
  'state'?: (string);
  'sites'?: (string)[];
  'steps'?: (_medfcl_v1_Step)[];
  'current_version'?: (string);
  'created_at'?: (string);
  'updated_at'?: (string);
  'error'?: (string);
  'options'?: ({[key: string]: string});
  'model'?: (string);
  'delta_encoding'?: (_medfcl_v1_DeltaEncoding);
  'dropout_policy'?: (_medfcl_v1_DropoutPolicy);
  'hyperparameters'?: (_medfcl_v1_Hyperparameters | null);
  'seed'?: (number | string | Long);
  'evaluation'?: (_medfcl_v1_EvaluationPlacement);
  'secure_aggregation'?: (boolean);
  'secure_aggregation_threshold'?: (number);
}

export interface Run__Output {
  'run_id': (string);
  'name': (string);
  'strategy': (string);
  'state': (string);
  'sites': (string)[];
  'steps': (_medfcl_v1_Step__Output)[];
  'current_version': (string);
  'created_at': (string);
  'updated_at': (string);
  'error': (string);
  'options': ({[key: string]: string});
  'model': (string);
  'delta_encoding': (_medfcl_v1_DeltaEncoding__Output);
  'dropout_policy': (_medfcl_v1_DropoutPolicy__Output);
  'hyperparameters': (_medfcl_v1_Hyperparameters__Output | null);
  'seed': (number);
  'evaluation': (_medfcl_v1_EvaluationPlacement__Output);
  'secure_aggregation': (boolean);
  'secure_aggregation_threshold': (number);
}
