// Original file: proto/medfcl/v1/site.proto


export interface PushUpdateResponse {
  'update_id'?: (string);
  'accepted'?: (boolean);
  'duplicate'?: (boolean);
}

export interface PushUpdateResponse__Output {
  'update_id': (string);
  'accepted': (boolean);
  'duplicate': (boolean);
}
