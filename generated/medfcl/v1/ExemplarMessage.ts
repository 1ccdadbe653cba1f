// Original file: proto/medfcl/v1/site.proto

import type { ExemplarInfo as _medfcl_v1_ExemplarInfo, ExemplarInfo__Output as _medfcl_v1_ExemplarInfo__Output } from '../../medfcl/v1/ExemplarInfo.js';
import type { Chunk as _medfcl_v1_Chunk, Chunk__Output as _medfcl_v1_Chunk__Output } from '../../medfcl/v1/Chunk.js';
import type { ExemplarPushHeader as _medfcl_v1_ExemplarPushHeader, ExemplarPushHeader__Output as _medfcl_v1_ExemplarPushHeader__Output } from '../../medfcl/v1/ExemplarPushHeader.js';

export interface ExemplarMessage {
  'info'?: (_medfcl_v1_ExemplarInfo | null);
  'chunk'?: (_medfcl_v1_Chunk | null);
  'header'?: (_medfcl_v1_ExemplarPushHeader | null);
  'payload'?: "info"|"chunk"|"header";
}

export interface ExemplarMessage__Output {
  'info'?: (_medfcl_v1_ExemplarInfo__Output | null);
  'chunk'?: (_medfcl_v1_Chunk__Output | null);
  'header'?: (_medfcl_v1_ExemplarPushHeader__Output | null);
  'payload'?: "info"|"chunk"|"header";
}
