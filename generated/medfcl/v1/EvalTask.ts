// Original file: proto/medfcl/v1/site.proto

import type { Long } from '@grpc/proto-loader';

export interface EvalTask {
  'task_id'?: (string);
  'run_id'?: (string);
  'step'?: (number);
  'model_version'?: (string);
  'model_size'?: (number | string | Long);
  'domain'?: (string);
  'deadline'?: (string);
}

export interface EvalTask__Output {
  'task_id': (string);
  'run_id': (string);
  'step': (number);
  'model_version': (string);
  'model_size': (number);
  'domain': (string);
  'deadline': (string);
}
