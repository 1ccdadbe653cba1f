// Original file: proto/medfcl/v1/common.proto

export const DropoutPolicy = {
  DROPOUT_POLICY_UNSPECIFIED: 'DROPOUT_POLICY_UNSPECIFIED',
  DROPOUT_POLICY_SKIP: 'DROPOUT_POLICY_SKIP',
  DROPOUT_POLICY_FAIL: 'DROPOUT_POLICY_FAIL',
} as const;

export type DropoutPolicy =
  | 'DROPOUT_POLICY_UNSPECIFIED'
  | 0
  | 'DROPOUT_POLICY_SKIP'
  | 1
  | 'DROPOUT_POLICY_FAIL'
  | 2

export type DropoutPolicy__Output = typeof DropoutPolicy[keyof typeof DropoutPolicy]
