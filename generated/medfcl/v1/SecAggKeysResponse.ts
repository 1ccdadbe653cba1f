// Original file: proto/medfcl/v1/site.proto

import type { SecAggPeerKeys as _medfcl_v1_SecAggPeerKeys, SecAggPeerKeys__Output as _medfcl_v1_SecAggPeerKeys__Output } from '../../medfcl/v1/SecAggPeerKeys.js';

export interface SecAggKeysResponse {
  'ready'?: (boolean);
  'neighbours'?: (_medfcl_v1_SecAggPeerKeys)[];
}

export interface SecAggKeysResponse__Output {
  'ready': (boolean);
  'neighbours': (_medfcl_v1_SecAggPeerKeys__Output)[];
}
