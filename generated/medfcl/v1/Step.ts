// Original file: proto/medfcl/v1/admin.proto


export interface Step {
  'index'?: (number);
  'state'?: (string);
  'sites'?: (string)[];
  'domain'?: (string);
  'version'?: (string);
  'dropouts'?: (string)[];
}

export interface Step__Output {
  'index': (number);
  'state': (string);
  'sites': (string)[];
  'domain': (string);
  'version': (string);
  'dropouts': (string)[];
}
