// Original file: proto/medfcl/v1/admin.proto


export interface ApCell {
  'value'?: (number | string);
  'missing'?: (boolean);
}

export interface ApCell__Output {
  'value': (number);
  'missing': (boolean);
}
