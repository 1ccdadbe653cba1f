// Original file: proto/medfcl/v1/common.proto

export const EvaluationPlacement = {
  EVALUATION_PLACEMENT_UNSPECIFIED: 'EVALUATION_PLACEMENT_UNSPECIFIED',
  EVALUATION_PLACEMENT_CENTRAL: 'EVALUATION_PLACEMENT_CENTRAL',
  EVALUATION_PLACEMENT_SITES: 'EVALUATION_PLACEMENT_SITES',
  EVALUATION_PLACEMENT_BOTH: 'EVALUATION_PLACEMENT_BOTH',
} as const;

export type EvaluationPlacement =
  | 'EVALUATION_PLACEMENT_UNSPECIFIED'
  | 0
  | 'EVALUATION_PLACEMENT_CENTRAL'
  | 1
  | 'EVALUATION_PLACEMENT_SITES'
  | 2
  | 'EVALUATION_PLACEMENT_BOTH'
  | 3

export type EvaluationPlacement__Output = typeof EvaluationPlacement[keyof typeof EvaluationPlacement]
