// Original file: proto/medfcl/v1/admin.proto

import type { MatrixRow as _medfcl_v1_MatrixRow, MatrixRow__Output as _medfcl_v1_MatrixRow__Output } from '../../medfcl/v1/MatrixRow.js';

export interface AccuracyMatrix {
  'steps'?: (string)[];
  'domains'?: (string)[];
  'rows'?: (_medfcl_v1_MatrixRow)[];
}

export interface AccuracyMatrix__Output {
  'steps': (string)[];
  'domains': (string)[];
  'rows': (_medfcl_v1_MatrixRow__Output)[];
}
