// Original file: proto/medfcl/v1/site.proto


export interface ReportEvaluationResponse {
  'accepted'?: (boolean);
  'duplicate'?: (boolean);
}

export interface ReportEvaluationResponse__Output {
  'accepted': (boolean);
  'duplicate': (boolean);
}
