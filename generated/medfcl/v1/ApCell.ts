// Original file: proto/medfcl/v1/admin.proto


export interface ApCell {
  'value'?: (number | string);
  'missing'?: (boolean);
  'missing_reason'?: (string);
}

export interface ApCell__Output {
  'value': (number);
  'missing': (boolean);
  'missing_reason': (string);
}
