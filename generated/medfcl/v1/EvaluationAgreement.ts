// Original file: proto/medfcl/v1/admin.proto


export interface EvaluationAgreement {
  'cells_compared'?: (number);
  'mismatches'?: (string)[];
}

export interface EvaluationAgreement__Output {
  'cells_compared': (number);
  'mismatches': (string)[];
}
