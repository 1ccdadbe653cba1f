// Original file: proto/medfcl/v1/site.proto

import type { TaskOutcomeKind as _medfcl_v1_TaskOutcomeKind, TaskOutcomeKind__Output as _medfcl_v1_TaskOutcomeKind__Output } from '../../medfcl/v1/TaskOutcomeKind.js';

export interface TaskOutcome {
  'kind'?: (_medfcl_v1_TaskOutcomeKind);
  'reason'?: (string);
}

export interface TaskOutcome__Output {
  'kind': (_medfcl_v1_TaskOutcomeKind__Output);
  'reason': (string);
}
