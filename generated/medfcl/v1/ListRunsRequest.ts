// Original file: proto/medfcl/v1/admin.proto


export interface ListRunsRequest {
  'page_size'?: (number);
  'page_token'?: (string);
  'state'?: (string);
}

export interface ListRunsRequest__Output {
  'page_size': (number);
  'page_token': (string);
  'state': (string);
}
