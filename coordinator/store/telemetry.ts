// The coordinator database: metrics, evaluations, events, notes.
import { z } from "zod";
import type { EvaluationRecord } from "../domain.js";
import { type Db, nowIso } from "./db.js";
import { parseJson } from "./parse.js";

export function insertMetric(db: Db, row: { runId: string | null; taskId: string | null; siteId: string | null; name: string; value: number; step: number }): void {
  db.prepare("INSERT INTO metrics (run_id, task_id, site_id, name, value, step, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)").run(
    row.runId, row.taskId, row.siteId, row.name, row.value, row.step, nowIso(),
  );
}

export function metricsForRun(db: Db, runId: string): { siteId: string | null; taskId: string | null; name: string; value: number; step: number }[] {
  const rows = db.prepare("SELECT site_id, task_id, name, value, step FROM metrics WHERE run_id = ? ORDER BY id").all(runId) as {
    site_id: string | null;
    task_id: string | null;
    name: string;
    value: number;
    step: number;
  }[];
  return rows.map((r) => ({ siteId: r.site_id, taskId: r.task_id, name: r.name, value: r.value, step: r.step }));
}

interface EvaluationRow {
  run_id: string;
  step: number;
  domain: string;
  version: string;
  ap: number;
  ap50: number;
  stats_json: string;
  per_category_json: string;
  source: string;
  created_at: string;
}

export function upsertEvaluation(db: Db, e: Omit<EvaluationRecord, "createdAt" | "source"> & { source?: string }): void {
  db.prepare(
    `INSERT OR REPLACE INTO evaluations (run_id, step, domain, version, ap, ap50, stats_json, per_category_json, source, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(e.runId, e.step, e.domain, e.version, e.ap, e.ap50, JSON.stringify(e.stats), JSON.stringify(e.perCategoryAp), e.source ?? "central", nowIso());
}

export function evaluationsForRun(db: Db, runId: string): EvaluationRecord[] {
  return (db.prepare("SELECT * FROM evaluations WHERE run_id = ? ORDER BY step, domain").all(runId) as EvaluationRow[]).map((r) => {
    const key = `${r.run_id}/${r.step}/${r.domain}`;
    return {
      runId: r.run_id,
      step: r.step,
      domain: r.domain,
      version: r.version,
      ap: r.ap,
      ap50: r.ap50,
      stats: parseJson(z.array(z.number().nullable()), r.stats_json, { table: "evaluations", key, field: "stats_json" }),
      perCategoryAp: parseJson(z.record(z.number().nullable()), r.per_category_json, { table: "evaluations", key, field: "per_category_json" }),
      source: r.source,
      createdAt: r.created_at,
    };
  });
}

export function insertEventRow(db: Db, type: string, subject: string, payload: unknown): void {
  db.prepare("INSERT INTO events (type, subject, payload_json, at) VALUES (?, ?, ?, ?)").run(type, subject, JSON.stringify(payload), nowIso());
}

export function insertNote(db: Db, siteId: string, taskId: string | null, note: string): void {
  db.prepare("INSERT INTO notes (site_id, task_id, note, at) VALUES (?, ?, ?, ?)").run(siteId, taskId, note, nowIso());
}

export function notesOfSite(db: Db, siteId: string): { taskId: string | null; note: string; at: string }[] {
  return (db.prepare("SELECT task_id, note, at FROM notes WHERE site_id = ? ORDER BY id").all(siteId) as { task_id: string | null; note: string; at: string }[]).map((r) => ({
    taskId: r.task_id,
    note: r.note,
    at: r.at,
  }));
}
