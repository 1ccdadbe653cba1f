// Original file: proto/medfcl/v1/site.proto


export interface SealedShare {
  'from_site'?: (string);
  'to_site'?: (string);
  'ciphertext'?: (Buffer | Uint8Array | string);
}

export interface SealedShare__Output {
  'from_site': (string);
  'to_site': (string);
  'ciphertext': (Buffer);
}
