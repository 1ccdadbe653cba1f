// Original file: proto/medfcl/v1/common.proto

import type { Long } from '@grpc/proto-loader';

export interface Hyperparameters {
  'lr'?: (number | string);
  'text_lr'?: (number | string);
  'weight_decay'?: (number | string);
  'batch_size'?: (number);
  'epochs'?: (number);
  'freeze_stages'?: (number);
  'grad_clip'?: (number | string);
  'seed'?: (number | string | Long);
  'replay_ratio'?: (number | string);
  'max_steps'?: (number);
  'input_size'?: (number);
}

export interface Hyperparameters__Output {
  'lr': (number);
  'text_lr': (number);
  'weight_decay': (number);
  'batch_size': (number);
  'epochs': (number);
  'freeze_stages': (number);
  'grad_clip': (number);
  'seed': (number);
  'replay_ratio': (number);
  'max_steps': (number);
  'input_size': (number);
}
