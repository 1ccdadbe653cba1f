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
  '_lr'?: "lr";
  '_text_lr'?: "text_lr";
  '_weight_decay'?: "weight_decay";
  '_batch_size'?: "batch_size";
  '_epochs'?: "epochs";
  '_freeze_stages'?: "freeze_stages";
  '_grad_clip'?: "grad_clip";
  '_seed'?: "seed";
  '_replay_ratio'?: "replay_ratio";
  '_max_steps'?: "max_steps";
  '_input_size'?: "input_size";
}

export interface Hyperparameters__Output {
  'lr'?: (number);
  'text_lr'?: (number);
  'weight_decay'?: (number);
  'batch_size'?: (number);
  'epochs'?: (number);
  'freeze_stages'?: (number);
  'grad_clip'?: (number);
  'seed'?: (number);
  'replay_ratio'?: (number);
  'max_steps'?: (number);
  'input_size'?: (number);
  '_lr'?: "lr";
  '_text_lr'?: "text_lr";
  '_weight_decay'?: "weight_decay";
  '_batch_size'?: "batch_size";
  '_epochs'?: "epochs";
  '_freeze_stages'?: "freeze_stages";
  '_grad_clip'?: "grad_clip";
  '_seed'?: "seed";
  '_replay_ratio'?: "replay_ratio";
  '_max_steps'?: "max_steps";
  '_input_size'?: "input_size";
}
