// Original file: proto/medfcl/v1/admin.proto


export interface RejectedUpdate {
  'update_id'?: (string);
  'site_id'?: (string);
  'task_id'?: (string);
  'reason'?: (string);
}

export interface RejectedUpdate__Output {
  'update_id': (string);
  'site_id': (string);
  'task_id': (string);
  'reason': (string);
}
