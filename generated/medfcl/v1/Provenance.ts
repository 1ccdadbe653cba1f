// Original file: proto/medfcl/v1/common.proto

import type { FilterStage as _medfcl_v1_FilterStage, FilterStage__Output as _medfcl_v1_FilterStage__Output } from '../../medfcl/v1/FilterStage.js';

export interface Provenance {
  'content_sha256'?: (string);
  'source_hmac'?: (string);
  'site_id'?: (string);
  'stages'?: (_medfcl_v1_FilterStage)[];
  'exported_at'?: (string);
}

export interface Provenance__Output {
  'content_sha256': (string);
  'source_hmac': (string);
  'site_id': (string);
  'stages': (_medfcl_v1_FilterStage__Output)[];
  'exported_at': (string);
}
