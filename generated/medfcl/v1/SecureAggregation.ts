// Original file: proto/medfcl/v1/site.proto


export interface SecureAggregation {
  'round_key'?: (string);
  'participants'?: (string)[];
  'neighbours'?: (string)[];
  'threshold'?: (number);
  'fraction_bits'?: (number);
  'weight_denominator'?: (number | string);
  'norm_bound'?: (number | string);
}

export interface SecureAggregation__Output {
  'round_key': (string);
  'participants': (string)[];
  'neighbours': (string)[];
  'threshold': (number);
  'fraction_bits': (number);
  'weight_denominator': (number);
  'norm_bound': (number);
}
