// Original file: proto/medfcl/v1/site.proto


export interface SecAggKeysRequest {
  'site_id'?: (string);
  'task_id'?: (string);
  'encryption_public_key'?: (Buffer | Uint8Array | string);
  'mask_public_key'?: (Buffer | Uint8Array | string);
  'self_mask_commitment'?: (string);
  'wait_ms'?: (number);
}

export interface SecAggKeysRequest__Output {
  'site_id': (string);
  'task_id': (string);
  'encryption_public_key': (Buffer);
  'mask_public_key': (Buffer);
  'self_mask_commitment': (string);
  'wait_ms': (number);
}
