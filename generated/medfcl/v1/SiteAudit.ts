// Original file: proto/medfcl/v1/admin.proto


export interface SiteAudit {
  'site_id'?: (string);
  'forgetting'?: (number | string);
  'forgetting_missing'?: (boolean);
  'exemplars_exported'?: (number);
  'epsilon_spent'?: (number | string);
}

export interface SiteAudit__Output {
  'site_id': (string);
  'forgetting': (number);
  'forgetting_missing': (boolean);
  'exemplars_exported': (number);
  'epsilon_spent': (number);
}
