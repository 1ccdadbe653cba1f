// Original file: proto/medfcl/v1/site.proto


export interface Idle {
  'retry_after_ms'?: (number);
}

export interface Idle__Output {
  'retry_after_ms': (number);
}
