// Original file: proto/medfcl/v1/common.proto

import type { Long } from '@grpc/proto-loader';

export interface Metric {
  'name'?: (string);
  'value'?: (number | string);
  'step'?: (number | string | Long);
}

export interface Metric__Output {
  'name': (string);
  'value': (number);
  'step': (number);
}
