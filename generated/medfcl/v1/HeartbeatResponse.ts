// Original file: proto/medfcl/v1/site.proto


export interface HeartbeatResponse {
  'cancel_task_ids'?: (string)[];
  'reregister'?: (boolean);
}

export interface HeartbeatResponse__Output {
  'cancel_task_ids': (string)[];
  'reregister': (boolean);
}
