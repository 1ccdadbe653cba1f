// Original file: proto/medfcl/v1/site.proto


export interface SecAggPeerKeys {
  'site_id'?: (string);
  'encryption_public_key'?: (Buffer | Uint8Array | string);
  'mask_public_key'?: (Buffer | Uint8Array | string);
}

export interface SecAggPeerKeys__Output {
  'site_id': (string);
  'encryption_public_key': (Buffer);
  'mask_public_key': (Buffer);
}
