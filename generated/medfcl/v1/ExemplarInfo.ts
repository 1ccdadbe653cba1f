// Original file: proto/medfcl/v1/common.proto

import type { Box as _medfcl_v1_Box, Box__Output as _medfcl_v1_Box__Output } from '../../medfcl/v1/Box.js';
import type { Category as _medfcl_v1_Category, Category__Output as _medfcl_v1_Category__Output } from '../../medfcl/v1/Category.js';
import type { Provenance as _medfcl_v1_Provenance, Provenance__Output as _medfcl_v1_Provenance__Output } from '../../medfcl/v1/Provenance.js';
import type { Long } from '@grpc/proto-loader';

export interface ExemplarInfo {
  'exemplar_id'?: (string);
  'mime'?: (string);
  'width'?: (number);
  'height'?: (number);
  'boxes'?: (_medfcl_v1_Box)[];
  'domain'?: (string);
  'categories'?: (_medfcl_v1_Category)[];
  'provenance'?: (_medfcl_v1_Provenance | null);
  'size'?: (number | string | Long);
  'score'?: (number | string);
}

export interface ExemplarInfo__Output {
  'exemplar_id': (string);
  'mime': (string);
  'width': (number);
  'height': (number);
  'boxes': (_medfcl_v1_Box__Output)[];
  'domain': (string);
  'categories': (_medfcl_v1_Category__Output)[];
  'provenance': (_medfcl_v1_Provenance__Output | null);
  'size': (number);
  'score': (number);
}
