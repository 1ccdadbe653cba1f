// Original file: proto/medfcl/v1/common.proto


export interface Box {
  'x'?: (number | string);
  'y'?: (number | string);
  'width'?: (number | string);
  'height'?: (number | string);
  'category_id'?: (number);
}

export interface Box__Output {
  'x': (number);
  'y': (number);
  'width': (number);
  'height': (number);
  'category_id': (number);
}
