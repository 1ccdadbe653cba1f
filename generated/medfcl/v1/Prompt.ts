// Original file: proto/medfcl/v1/common.proto


export interface Prompt {
  'prefix'?: (string);
  'name'?: (string);
  'suffix'?: (string);
}

export interface Prompt__Output {
  'prefix': (string);
  'name': (string);
  'suffix': (string);
}
