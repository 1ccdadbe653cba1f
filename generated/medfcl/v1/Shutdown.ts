// Original file: proto/medfcl/v1/site.proto


export interface Shutdown {
  'reason'?: (string);
}

export interface Shutdown__Output {
  'reason': (string);
}
