// Original file: proto/medfcl/v1/site.proto


export interface ExemplarPushHeader {
  'site_id'?: (string);
  'task_id'?: (string);
}

export interface ExemplarPushHeader__Output {
  'site_id': (string);
  'task_id': (string);
}
