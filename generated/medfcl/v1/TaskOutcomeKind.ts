// Original file: proto/medfcl/v1/site.proto

export const TaskOutcomeKind = {
  TASK_OUTCOME_KIND_UNSPECIFIED: 'TASK_OUTCOME_KIND_UNSPECIFIED',
  TASK_OUTCOME_KIND_OK: 'TASK_OUTCOME_KIND_OK',
  TASK_OUTCOME_KIND_REFUSED: 'TASK_OUTCOME_KIND_REFUSED',
  TASK_OUTCOME_KIND_FAILED: 'TASK_OUTCOME_KIND_FAILED',
} as const;

export type TaskOutcomeKind =
  | 'TASK_OUTCOME_KIND_UNSPECIFIED'
  | 0
  | 'TASK_OUTCOME_KIND_OK'
  | 1
  | 'TASK_OUTCOME_KIND_REFUSED'
  | 2
  | 'TASK_OUTCOME_KIND_FAILED'
  | 3

export type TaskOutcomeKind__Output = typeof TaskOutcomeKind[keyof typeof TaskOutcomeKind]
