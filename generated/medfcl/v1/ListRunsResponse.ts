// Original file: proto/medfcl/v1/admin.proto

import type { Run as _medfcl_v1_Run, Run__Output as _medfcl_v1_Run__Output } from '../../medfcl/v1/Run.js';

export interface ListRunsResponse {
  'runs'?: (_medfcl_v1_Run)[];
  'next_page_token'?: (string);
}

export interface ListRunsResponse__Output {
  'runs': (_medfcl_v1_Run__Output)[];
  'next_page_token': (string);
}
