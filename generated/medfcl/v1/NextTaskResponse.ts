// Original file: proto/medfcl/v1/site.proto

import type { TrainTask as _medfcl_v1_TrainTask, TrainTask__Output as _medfcl_v1_TrainTask__Output } from '../../medfcl/v1/TrainTask.js';
import type { Idle as _medfcl_v1_Idle, Idle__Output as _medfcl_v1_Idle__Output } from '../../medfcl/v1/Idle.js';
import type { Shutdown as _medfcl_v1_Shutdown, Shutdown__Output as _medfcl_v1_Shutdown__Output } from '../../medfcl/v1/Shutdown.js';
import type { EvalTask as _medfcl_v1_EvalTask, EvalTask__Output as _medfcl_v1_EvalTask__Output } from '../../medfcl/v1/EvalTask.js';

export interface NextTaskResponse {
  'task'?: (_medfcl_v1_TrainTask | null);
  'idle'?: (_medfcl_v1_Idle | null);
  'shutdown'?: (_medfcl_v1_Shutdown | null);
  'eval_task'?: (_medfcl_v1_EvalTask | null);
  'result'?: "task"|"idle"|"shutdown"|"eval_task";
}

export interface NextTaskResponse__Output {
  'task'?: (_medfcl_v1_TrainTask__Output | null);
  'idle'?: (_medfcl_v1_Idle__Output | null);
  'shutdown'?: (_medfcl_v1_Shutdown__Output | null);
  'eval_task'?: (_medfcl_v1_EvalTask__Output | null);
  'result'?: "task"|"idle"|"shutdown"|"eval_task";
}
