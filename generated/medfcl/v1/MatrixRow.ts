// Original file: proto/medfcl/v1/admin.proto

import type { ApCell as _medfcl_v1_ApCell, ApCell__Output as _medfcl_v1_ApCell__Output } from '../../medfcl/v1/ApCell.js';

export interface MatrixRow {
  'cells'?: (_medfcl_v1_ApCell)[];
}

export interface MatrixRow__Output {
  'cells': (_medfcl_v1_ApCell__Output)[];
}
