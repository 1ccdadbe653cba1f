// Original file: proto/medfcl/v1/admin.proto


export interface GetAuditRequest {
  'run_id'?: (string);
}

export interface GetAuditRequest__Output {
  'run_id': (string);
}
