// Original file: proto/medfcl/v1/admin.proto

import type { AccuracyMatrix as _medfcl_v1_AccuracyMatrix, AccuracyMatrix__Output as _medfcl_v1_AccuracyMatrix__Output } from '../../medfcl/v1/AccuracyMatrix.js';
import type { Metric as _medfcl_v1_Metric, Metric__Output as _medfcl_v1_Metric__Output } from '../../medfcl/v1/Metric.js';
import type { ModelVersion as _medfcl_v1_ModelVersion, ModelVersion__Output as _medfcl_v1_ModelVersion__Output } from '../../medfcl/v1/ModelVersion.js';
import type { RejectedUpdate as _medfcl_v1_RejectedUpdate, RejectedUpdate__Output as _medfcl_v1_RejectedUpdate__Output } from '../../medfcl/v1/RejectedUpdate.js';
import type { SiteAudit as _medfcl_v1_SiteAudit, SiteAudit__Output as _medfcl_v1_SiteAudit__Output } from '../../medfcl/v1/SiteAudit.js';
import type { EvaluationAgreement as _medfcl_v1_EvaluationAgreement, EvaluationAgreement__Output as _medfcl_v1_EvaluationAgreement__Output } from '../../medfcl/v1/EvaluationAgreement.js';

export interface Audit {
  'run_id'?: (string);
  'matrix'?: (_medfcl_v1_AccuracyMatrix | null);
  'metrics'?: (_medfcl_v1_Metric)[];
  'lineage'?: (_medfcl_v1_ModelVersion)[];
  'rejected_updates'?: (_medfcl_v1_RejectedUpdate)[];
  'sites'?: (_medfcl_v1_SiteAudit)[];
  'evaluation_agreement'?: (_medfcl_v1_EvaluationAgreement | null);
}

export interface Audit__Output {
  'run_id': (string);
  'matrix': (_medfcl_v1_AccuracyMatrix__Output | null);
  'metrics': (_medfcl_v1_Metric__Output)[];
  'lineage': (_medfcl_v1_ModelVersion__Output)[];
  'rejected_updates': (_medfcl_v1_RejectedUpdate__Output)[];
  'sites': (_medfcl_v1_SiteAudit__Output)[];
  'evaluation_agreement': (_medfcl_v1_EvaluationAgreement__Output | null);
}
