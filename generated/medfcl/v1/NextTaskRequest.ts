// Original file: proto/medfcl/v1/site.proto


export interface NextTaskRequest {
  'site_id'?: (string);
  'session_id'?: (string);
  'wait_ms'?: (number);
}

export interface NextTaskRequest__Output {
  'site_id': (string);
  'session_id': (string);
  'wait_ms': (number);
}
