// Original file: proto/medfcl/v1/site.proto

import type { Chunk as _medfcl_v1_Chunk, Chunk__Output as _medfcl_v1_Chunk__Output } from '../../medfcl/v1/Chunk.js';
import type { Long } from '@grpc/proto-loader';

export interface ModelChunk {
  'total_size'?: (number | string | Long);
  'sha256'?: (string);
  'chunk'?: (_medfcl_v1_Chunk | null);
}

export interface ModelChunk__Output {
  'total_size': (number);
  'sha256': (string);
  'chunk': (_medfcl_v1_Chunk__Output | null);
}
