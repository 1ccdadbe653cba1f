// Original file: proto/medfcl/v1/site.proto


export interface RegisterResponse {
  'session_id'?: (string);
  'heartbeat_interval_ms'?: (number);
  'coordinator_version'?: (string);
  'max_chunk_bytes'?: (number);
}

export interface RegisterResponse__Output {
  'session_id': (string);
  'heartbeat_interval_ms': (number);
  'coordinator_version': (string);
  'max_chunk_bytes': (number);
}
