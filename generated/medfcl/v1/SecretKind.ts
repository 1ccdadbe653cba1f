// Original file: proto/medfcl/v1/site.proto

export const SecretKind = {
  SECRET_KIND_UNSPECIFIED: 'SECRET_KIND_UNSPECIFIED',
  SECRET_KIND_SELF_MASK_SEED: 'SECRET_KIND_SELF_MASK_SEED',
  SECRET_KIND_MASK_KEY: 'SECRET_KIND_MASK_KEY',
} as const;

export type SecretKind =
  | 'SECRET_KIND_UNSPECIFIED'
  | 0
  | 'SECRET_KIND_SELF_MASK_SEED'
  | 1
  | 'SECRET_KIND_MASK_KEY'
  | 2

export type SecretKind__Output = typeof SecretKind[keyof typeof SecretKind]
