// Original file: proto/medfcl/v1/site.proto

import type { TensorManifest as _medfcl_v1_TensorManifest, TensorManifest__Output as _medfcl_v1_TensorManifest__Output } from '../../medfcl/v1/TensorManifest.js';
import type { Metric as _medfcl_v1_Metric, Metric__Output as _medfcl_v1_Metric__Output } from '../../medfcl/v1/Metric.js';
import type { DeltaEncoding as _medfcl_v1_DeltaEncoding, DeltaEncoding__Output as _medfcl_v1_DeltaEncoding__Output } from '../../medfcl/v1/DeltaEncoding.js';
import type { Long } from '@grpc/proto-loader';

export interface UpdateHeader {
  'site_id'?: (string);
  'task_id'?: (string);
  'base_version'?: (string);
  'sha256'?: (string);
  'size'?: (number | string | Long);
  'manifest'?: (_medfcl_v1_TensorManifest | null);
  'legacy_encoding'?: (string);
  'num_samples'?: (number);
  'metrics'?: (_medfcl_v1_Metric)[];
  'encoding'?: (_medfcl_v1_DeltaEncoding);
  'masked'?: (boolean);
}

export interface UpdateHeader__Output {
  'site_id': (string);
  'task_id': (string);
  'base_version': (string);
  'sha256': (string);
  'size': (number);
  'manifest': (_medfcl_v1_TensorManifest__Output | null);
  'legacy_encoding': (string);
  'num_samples': (number);
  'metrics': (_medfcl_v1_Metric__Output)[];
  'encoding': (_medfcl_v1_DeltaEncoding__Output);
  'masked': (boolean);
}
