// The coordinator database: updates.
import { z } from "zod";
import { DELTA_ENCODINGS, type DeltaEncoding, metricRecordSchema, type UpdateRecord } from "../domain.js";
import { type Db, nowIso } from "./db.js";
import { parseJson, parseValue } from "./parse.js";

interface UpdateRow {
  update_id: string;
  task_id: string;
  site_id: string;
  run_id: string;
  step: number;
  base_version: string;
  encoding: string;
  num_samples: number;
  norm: number | null;
  accepted: number;
  reason: string | null;
  metrics_json: string;
  received_at: string;
}

function updateFromRow(r: UpdateRow): UpdateRecord {
  const key = `${r.update_id}/${r.task_id}`;
  return {
    updateId: r.update_id,
    taskId: r.task_id,
    siteId: r.site_id,
    runId: r.run_id,
    step: r.step,
    baseVersion: r.base_version,
    encoding: parseValue(z.enum(DELTA_ENCODINGS as unknown as [DeltaEncoding, ...DeltaEncoding[]]), r.encoding, { table: "updates", key, field: "encoding" }),
    numSamples: r.num_samples,
    norm: r.norm,
    accepted: r.accepted === 1,
    reason: r.reason,
    metrics: parseJson(z.array(metricRecordSchema), r.metrics_json, { table: "updates", key, field: "metrics_json" }),
    receivedAt: r.received_at,
  };
}

export function insertUpdate(db: Db, u: Omit<UpdateRecord, "receivedAt">): void {
  db.prepare(
    `INSERT OR REPLACE INTO updates (update_id, task_id, site_id, run_id, step, base_version, encoding, num_samples, norm,
       accepted, reason, metrics_json, received_at)
     VALUES (@update_id, @task_id, @site_id, @run_id, @step, @base_version, @encoding, @num_samples, @norm,
       @accepted, @reason, @metrics_json, @now)`,
  ).run({
    update_id: u.updateId,
    task_id: u.taskId,
    site_id: u.siteId,
    run_id: u.runId,
    step: u.step,
    base_version: u.baseVersion,
    encoding: u.encoding,
    num_samples: u.numSamples,
    norm: u.norm,
    accepted: u.accepted ? 1 : 0,
    reason: u.reason,
    metrics_json: JSON.stringify(u.metrics),
    now: nowIso(),
  });
}

export function getUpdate(db: Db, updateId: string, taskId: string): UpdateRecord | undefined {
  const row = db.prepare("SELECT * FROM updates WHERE update_id = ? AND task_id = ?").get(updateId, taskId) as UpdateRow | undefined;
  return row && updateFromRow(row);
}

export function acceptedUpdatesForTask(db: Db, taskId: string): UpdateRecord[] {
  return (db.prepare("SELECT * FROM updates WHERE task_id = ? AND accepted = 1").all(taskId) as UpdateRow[]).map(updateFromRow);
}

export function updatesForRun(db: Db, runId: string): UpdateRecord[] {
  return (db.prepare("SELECT * FROM updates WHERE run_id = ? ORDER BY received_at").all(runId) as UpdateRow[]).map(updateFromRow);
}

export function rejectedUpdatesForRun(db: Db, runId: string): UpdateRecord[] {
  return (db.prepare("SELECT * FROM updates WHERE run_id = ? AND accepted = 0 ORDER BY received_at").all(runId) as UpdateRow[]).map(updateFromRow);
}

export function acceptedUpdateCount(db: Db, runId?: string): number {
  const row = runId
    ? db.prepare("SELECT COUNT(*) AS n FROM updates WHERE run_id = ? AND accepted = 1").get(runId)
    : db.prepare("SELECT COUNT(*) AS n FROM updates WHERE accepted = 1").get();
  return (row as { n: number }).n;
}

/** Updates received, by whether they were accepted (only the outcomes that occurred), for /metrics. */
export function updateCountsByAccepted(db: Db): { accepted: boolean; n: number }[] {
  return (db.prepare("SELECT accepted, COUNT(*) AS n FROM updates GROUP BY accepted").all() as { accepted: number; n: number }[]).map((r) => ({ accepted: r.accepted === 1, n: r.n }));
}

/** Whether something trusted (an accepted update, a model version, an exemplar) holds this content. */
export function blobReferenced(db: Db, sha256: string): boolean {
  return Boolean(
    db.prepare("SELECT 1 FROM updates WHERE update_id = ? AND accepted = 1 UNION SELECT 1 FROM versions WHERE version = ? UNION SELECT 1 FROM exemplars WHERE exemplar_id = ? LIMIT 1").get(sha256, sha256, sha256),
  );
}
