// Original file: proto/medfcl/v1/common.proto

import type { TensorSpec as _medfcl_v1_TensorSpec, TensorSpec__Output as _medfcl_v1_TensorSpec__Output } from '../../medfcl/v1/TensorSpec.js';

export interface TensorManifest {
  'tensors'?: (_medfcl_v1_TensorSpec)[];
}

export interface TensorManifest__Output {
  'tensors': (_medfcl_v1_TensorSpec__Output)[];
}
