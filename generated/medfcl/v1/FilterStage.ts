// Original file: proto/medfcl/v1/common.proto


export interface FilterStage {
  'name'?: (string);
  'version'?: (string);
  'removed'?: (string)[];
}

export interface FilterStage__Output {
  'name': (string);
  'version': (string);
  'removed': (string)[];
}
