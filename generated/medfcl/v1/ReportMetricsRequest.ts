// Original file: proto/medfcl/v1/site.proto

import type { Metric as _medfcl_v1_Metric, Metric__Output as _medfcl_v1_Metric__Output } from '../../medfcl/v1/Metric.js';

export interface ReportMetricsRequest {
  'site_id'?: (string);
  'task_id'?: (string);
  'metrics'?: (_medfcl_v1_Metric)[];
  'notes'?: (string)[];
}

export interface ReportMetricsRequest__Output {
  'site_id': (string);
  'task_id': (string);
  'metrics': (_medfcl_v1_Metric__Output)[];
  'notes': (string)[];
}
