// Original file: proto/medfcl/v1/common.proto

export const ShotsSelection = {
  SHOTS_SELECTION_UNSPECIFIED: 'SHOTS_SELECTION_UNSPECIFIED',
  SHOTS_SELECTION_RANDOM: 'SHOTS_SELECTION_RANDOM',
  SHOTS_SELECTION_KCENTER: 'SHOTS_SELECTION_KCENTER',
} as const;

export type ShotsSelection =
  | 'SHOTS_SELECTION_UNSPECIFIED'
  | 0
  | 'SHOTS_SELECTION_RANDOM'
  | 1
  | 'SHOTS_SELECTION_KCENTER'
  | 2

export type ShotsSelection__Output = typeof ShotsSelection[keyof typeof ShotsSelection]
