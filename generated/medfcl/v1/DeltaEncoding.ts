// Original file: proto/medfcl/v1/common.proto

export const DeltaEncoding = {
  DELTA_ENCODING_UNSPECIFIED: 'DELTA_ENCODING_UNSPECIFIED',
  DELTA_ENCODING_FP32: 'DELTA_ENCODING_FP32',
  DELTA_ENCODING_FP16: 'DELTA_ENCODING_FP16',
  DELTA_ENCODING_INT8: 'DELTA_ENCODING_INT8',
  DELTA_ENCODING_TOPK: 'DELTA_ENCODING_TOPK',
} as const;

export type DeltaEncoding =
  | 'DELTA_ENCODING_UNSPECIFIED'
  | 0
  | 'DELTA_ENCODING_FP32'
  | 1
  | 'DELTA_ENCODING_FP16'
  | 2
  | 'DELTA_ENCODING_INT8'
  | 3
  | 'DELTA_ENCODING_TOPK'
  | 4

export type DeltaEncoding__Output = typeof DeltaEncoding[keyof typeof DeltaEncoding]
