// Original file: proto/medfcl/v1/site.proto

import type { SiteEvaluationResult as _medfcl_v1_SiteEvaluationResult, SiteEvaluationResult__Output as _medfcl_v1_SiteEvaluationResult__Output } from '../../medfcl/v1/SiteEvaluationResult.js';
import type { TaskOutcome as _medfcl_v1_TaskOutcome, TaskOutcome__Output as _medfcl_v1_TaskOutcome__Output } from '../../medfcl/v1/TaskOutcome.js';

export interface ReportEvaluationRequest {
  'site_id'?: (string);
  'task_id'?: (string);
  'result'?: (_medfcl_v1_SiteEvaluationResult | null);
  'outcome'?: (_medfcl_v1_TaskOutcome | null);
}

export interface ReportEvaluationRequest__Output {
  'site_id': (string);
  'task_id': (string);
  'result': (_medfcl_v1_SiteEvaluationResult__Output | null);
  'outcome': (_medfcl_v1_TaskOutcome__Output | null);
}
