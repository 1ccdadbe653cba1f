// Original file: proto/medfcl/v1/admin.proto

import type { Step as _medfcl_v1_Step, Step__Output as _medfcl_v1_Step__Output } from '../../medfcl/v1/Step.js';

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
}
