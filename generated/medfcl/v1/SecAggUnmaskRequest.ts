// Original file: proto/medfcl/v1/site.proto

import type { RevealedShare as _medfcl_v1_RevealedShare, RevealedShare__Output as _medfcl_v1_RevealedShare__Output } from '../../medfcl/v1/RevealedShare.js';

export interface SecAggUnmaskRequest {
  'site_id'?: (string);
  'task_id'?: (string);
  'wait_ms'?: (number);
  'shares'?: (_medfcl_v1_RevealedShare)[];
}

export interface SecAggUnmaskRequest__Output {
  'site_id': (string);
  'task_id': (string);
  'wait_ms': (number);
  'shares': (_medfcl_v1_RevealedShare__Output)[];
}
