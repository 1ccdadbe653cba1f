// Original file: proto/medfcl/v1/site.proto

import type { SecretKind as _medfcl_v1_SecretKind, SecretKind__Output as _medfcl_v1_SecretKind__Output } from '../../medfcl/v1/SecretKind.js';

export interface RevealedShare {
  'of_site'?: (string);
  'kind'?: (_medfcl_v1_SecretKind);
  'share'?: (Buffer | Uint8Array | string);
}

export interface RevealedShare__Output {
  'of_site': (string);
  'kind': (_medfcl_v1_SecretKind__Output);
  'share': (Buffer);
}
