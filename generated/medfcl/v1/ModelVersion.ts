// Original file: proto/medfcl/v1/admin.proto


export interface ModelVersion {
  'version'?: (string);
  'parent'?: (string);
  'strategy'?: (string);
  'step'?: (number);
  'sites'?: (string)[];
  'created_at'?: (string);
}

export interface ModelVersion__Output {
  'version': (string);
  'parent': (string);
  'strategy': (string);
  'step': (number);
  'sites': (string)[];
  'created_at': (string);
}
