// Original file: proto/medfcl/v1/common.proto

import type { CategoryAp as _medfcl_v1_CategoryAp, CategoryAp__Output as _medfcl_v1_CategoryAp__Output } from '../../medfcl/v1/CategoryAp.js';

export interface SiteEvaluationResult {
  'stats'?: (number | string)[];
  'per_category'?: (_medfcl_v1_CategoryAp)[];
  'num_images'?: (number);
}

export interface SiteEvaluationResult__Output {
  'stats': (number)[];
  'per_category': (_medfcl_v1_CategoryAp__Output)[];
  'num_images': (number);
}
