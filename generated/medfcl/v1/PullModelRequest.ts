// Original file: proto/medfcl/v1/site.proto

import type { Long } from '@grpc/proto-loader';

export interface PullModelRequest {
  'site_id'?: (string);
  'version'?: (string);
  'offset'?: (number | string | Long);
  'chunk_bytes'?: (number);
}

export interface PullModelRequest__Output {
  'site_id': (string);
  'version': (string);
  'offset': (number);
  'chunk_bytes': (number);
}
