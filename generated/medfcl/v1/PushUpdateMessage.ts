// Original file: proto/medfcl/v1/site.proto

import type { UpdateHeader as _medfcl_v1_UpdateHeader, UpdateHeader__Output as _medfcl_v1_UpdateHeader__Output } from '../../medfcl/v1/UpdateHeader.js';
import type { Chunk as _medfcl_v1_Chunk, Chunk__Output as _medfcl_v1_Chunk__Output } from '../../medfcl/v1/Chunk.js';

export interface PushUpdateMessage {
  'header'?: (_medfcl_v1_UpdateHeader | null);
  'chunk'?: (_medfcl_v1_Chunk | null);
  'payload'?: "header"|"chunk";
}

export interface PushUpdateMessage__Output {
  'header'?: (_medfcl_v1_UpdateHeader__Output | null);
  'chunk'?: (_medfcl_v1_Chunk__Output | null);
  'payload'?: "header"|"chunk";
}
