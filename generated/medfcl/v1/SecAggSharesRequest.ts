// Original file: proto/medfcl/v1/site.proto

import type { SealedShare as _medfcl_v1_SealedShare, SealedShare__Output as _medfcl_v1_SealedShare__Output } from '../../medfcl/v1/SealedShare.js';

export interface SecAggSharesRequest {
  'site_id'?: (string);
  'task_id'?: (string);
  'shares'?: (_medfcl_v1_SealedShare)[];
  'wait_ms'?: (number);
}

export interface SecAggSharesRequest__Output {
  'site_id': (string);
  'task_id': (string);
  'shares': (_medfcl_v1_SealedShare__Output)[];
  'wait_ms': (number);
}
