// Original file: proto/medfcl/v1/site.proto


export interface PullExemplarsRequest {
  'site_id'?: (string);
  'task_id'?: (string);
  'exemplar_ids'?: (string)[];
}

export interface PullExemplarsRequest__Output {
  'site_id': (string);
  'task_id': (string);
  'exemplar_ids': (string)[];
}
