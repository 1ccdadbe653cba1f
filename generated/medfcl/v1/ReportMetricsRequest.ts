// Original file: proto/medfcl/v1/site.proto

import type { Metric as _medfcl_v1_Metric, Metric__Output as _medfcl_v1_Metric__Output } from '../../medfcl/v1/Metric.js';
import type { TaskOutcome as _medfcl_v1_TaskOutcome, TaskOutcome__Output as _medfcl_v1_TaskOutcome__Output } from '../../medfcl/v1/TaskOutcome.js';

export interface ReportMetricsRequest {
  'site_id'?: (string);
  'task_id'?: (string);
  'metrics'?: (_medfcl_v1_Metric)[];
  'notes'?: (string)[];
  'outcome'?: (_medfcl_v1_TaskOutcome | null);
}

export interface ReportMetricsRequest__Output {
  'site_id': (string);
  'task_id': (string);
  'metrics': (_medfcl_v1_Metric__Output)[];
  'notes': (string)[];
  'outcome': (_medfcl_v1_TaskOutcome__Output | null);
}
