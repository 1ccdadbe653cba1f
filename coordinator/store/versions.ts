// The coordinator database: versions.
import type { VersionRecord } from "../domain.js";
import { type Db, nowIso } from "./db.js";
import { parseJson, stringList } from "./parse.js";

export interface VersionRow {
  version: string;
  parent: string | null;
  run_id: string | null;
  strategy: string;
  step: number;
  sites_json: string;
  config_hash: string;
  size: number;
  created_at: string;
}

export function versionFromRow(r: VersionRow): VersionRecord {
  return {
    version: r.version,
    parent: r.parent,
    runId: r.run_id,
    strategy: r.strategy,
    step: r.step,
    sites: parseJson(stringList, r.sites_json, { table: "versions", key: r.version, field: "sites_json" }),
    configHash: r.config_hash,
    size: r.size,
    createdAt: r.created_at,
  };
}

export function insertVersion(db: Db, v: Omit<VersionRecord, "createdAt">): void {
  db.prepare(
    `INSERT OR IGNORE INTO versions (version, parent, run_id, strategy, step, sites_json, config_hash, size, created_at)
     VALUES (@version, @parent, @run_id, @strategy, @step, @sites_json, @config_hash, @size, @now)`,
  ).run({ version: v.version, parent: v.parent, run_id: v.runId, strategy: v.strategy, step: v.step, sites_json: JSON.stringify(v.sites), config_hash: v.configHash, size: v.size, now: nowIso() });
}

export function versionsForRun(db: Db, runId: string): VersionRecord[] {
  return (db.prepare("SELECT * FROM versions WHERE run_id = ? ORDER BY step, created_at").all(runId) as VersionRow[]).map(versionFromRow);
}
