// Original file: proto/medfcl/v1/site.proto


export interface RejectedExemplar {
  'exemplar_id'?: (string);
  'reason'?: (string);
}

export interface RejectedExemplar__Output {
  'exemplar_id': (string);
  'reason': (string);
}
