// Original file: proto/medfcl/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

export interface PullModelVersionRequest {
  'version'?: (string);
  'offset'?: (number | string | Long);
  'chunk_bytes'?: (number);
}

export interface PullModelVersionRequest__Output {
  'version': (string);
  'offset': (number);
  'chunk_bytes': (number);
}
