// Original file: proto/medfcl/v1/site.proto


export interface HeartbeatRequest {
  'site_id'?: (string);
  'session_id'?: (string);
  'state'?: (string);
  'task_id'?: (string);
  'progress'?: (number | string);
  'loss'?: (number | string);
}

export interface HeartbeatRequest__Output {
  'site_id': (string);
  'session_id': (string);
  'state': (string);
  'task_id': (string);
  'progress': (number);
  'loss': (number);
}
