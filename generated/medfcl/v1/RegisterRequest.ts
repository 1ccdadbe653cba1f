// Original file: proto/medfcl/v1/site.proto

import type { DatasetManifest as _medfcl_v1_DatasetManifest, DatasetManifest__Output as _medfcl_v1_DatasetManifest__Output } from '../../medfcl/v1/DatasetManifest.js';
import type { TestSetManifest as _medfcl_v1_TestSetManifest, TestSetManifest__Output as _medfcl_v1_TestSetManifest__Output } from '../../medfcl/v1/TestSetManifest.js';

export interface RegisterRequest {
  'site_id'?: (string);
  'agent_version'?: (string);
  'manifest'?: (_medfcl_v1_DatasetManifest | null);
  'backend'?: (string);
  'capabilities'?: (string)[];
  'test_set'?: (_medfcl_v1_TestSetManifest | null);
}

export interface RegisterRequest__Output {
  'site_id': (string);
  'agent_version': (string);
  'manifest': (_medfcl_v1_DatasetManifest__Output | null);
  'backend': (string);
  'capabilities': (string)[];
  'test_set': (_medfcl_v1_TestSetManifest__Output | null);
}
