// Original file: proto/medfcl/v1/site.proto

import type { SealedShare as _medfcl_v1_SealedShare, SealedShare__Output as _medfcl_v1_SealedShare__Output } from '../../medfcl/v1/SealedShare.js';

export interface SecAggSharesResponse {
  'ready'?: (boolean);
  'shares'?: (_medfcl_v1_SealedShare)[];
}

export interface SecAggSharesResponse__Output {
  'ready': (boolean);
  'shares': (_medfcl_v1_SealedShare__Output)[];
}
