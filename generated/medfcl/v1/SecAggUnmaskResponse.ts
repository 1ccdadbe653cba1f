// Original file: proto/medfcl/v1/site.proto


export interface SecAggUnmaskResponse {
  'ready'?: (boolean);
  'survivors'?: (string)[];
  'dropped'?: (string)[];
  'done'?: (boolean);
}

export interface SecAggUnmaskResponse__Output {
  'ready': (boolean);
  'survivors': (string)[];
  'dropped': (string)[];
  'done': (boolean);
}
