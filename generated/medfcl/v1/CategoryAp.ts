// Original file: proto/medfcl/v1/common.proto


export interface CategoryAp {
  'category_id'?: (number);
  'ap'?: (number | string);
}

export interface CategoryAp__Output {
  'category_id': (number);
  'ap': (number);
}
