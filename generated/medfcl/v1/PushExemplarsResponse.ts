// Original file: proto/medfcl/v1/site.proto

import type { RejectedExemplar as _medfcl_v1_RejectedExemplar, RejectedExemplar__Output as _medfcl_v1_RejectedExemplar__Output } from '../../medfcl/v1/RejectedExemplar.js';

export interface PushExemplarsResponse {
  'accepted_ids'?: (string)[];
  'rejected'?: (_medfcl_v1_RejectedExemplar)[];
}

export interface PushExemplarsResponse__Output {
  'accepted_ids': (string)[];
  'rejected': (_medfcl_v1_RejectedExemplar__Output)[];
}
