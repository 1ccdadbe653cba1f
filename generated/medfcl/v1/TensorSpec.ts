// Original file: proto/medfcl/v1/common.proto

import type { Long } from '@grpc/proto-loader';

export interface TensorSpec {
  'name'?: (string);
  'dtype'?: (string);
  'shape'?: (number | string | Long)[];
}

export interface TensorSpec__Output {
  'name': (string);
  'dtype': (string);
  'shape': (number)[];
}
