// Original file: proto/medfcl/v1/common.proto

import type { Prompt as _medfcl_v1_Prompt, Prompt__Output as _medfcl_v1_Prompt__Output } from '../../medfcl/v1/Prompt.js';

export interface Category {
  'id'?: (number);
  'name'?: (string);
  'prompt'?: (_medfcl_v1_Prompt | null);
}

export interface Category__Output {
  'id': (number);
  'name': (string);
  'prompt': (_medfcl_v1_Prompt__Output | null);
}
