// Original file: proto/medfcl/v1/common.proto

import type { Category as _medfcl_v1_Category, Category__Output as _medfcl_v1_Category__Output } from '../../medfcl/v1/Category.js';

export interface TestSetManifest {
  'num_images'?: (number);
  'num_annotations'?: (number);
  'categories'?: (_medfcl_v1_Category)[];
  'annotations_sha256'?: (string);
}

export interface TestSetManifest__Output {
  'num_images': (number);
  'num_annotations': (number);
  'categories': (_medfcl_v1_Category__Output)[];
  'annotations_sha256': (string);
}
