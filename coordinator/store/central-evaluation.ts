// The coordinator database: central evaluation results (JetStream workers).
import { z } from "zod";
import type { CentralEvaluation } from "../domain.js";
import { type Db, nowIso } from "./db.js";
import { parseJson } from "./parse.js";

interface CentralEvaluationRow {
  version: string;
  domain: string;
  ok: number;
  result_json: string | null;
  reason: string | null;
  worker: string;
}

const domainEvaluationSchema = z.object({ domain: z.string(), ap: z.number(), ap50: z.number(), stats: z.array(z.number()), perCategoryAp: z.record(z.number()) });

function centralEvaluationFromRow(r: CentralEvaluationRow): CentralEvaluation {
  const key = `${r.version}/${r.domain}`;
  if (r.ok) return { version: r.version, domain: r.domain, worker: r.worker, ok: true, evaluation: parseJson(domainEvaluationSchema, r.result_json ?? "", { table: "central_evaluations", key, field: "result_json" }) };
  return { version: r.version, domain: r.domain, worker: r.worker, ok: false, reason: r.reason ?? "failed" };
}

/**
 * Records a worker's answer for (version, domain) unless one is there: the first answer wins, so a
 * redelivered job's second result changes nothing. Returns whether this one was stored.
 */
export function recordCentralEvaluation(db: Db, e: CentralEvaluation): boolean {
  const info = db
    .prepare("INSERT OR IGNORE INTO central_evaluations (version, domain, ok, result_json, reason, worker, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
    .run(e.version, e.domain, e.ok ? 1 : 0, e.ok ? JSON.stringify(e.evaluation) : null, e.ok ? null : e.reason, e.worker, nowIso());
  return info.changes === 1;
}

export function getCentralEvaluation(db: Db, version: string, domain: string): CentralEvaluation | null {
  const row = db.prepare("SELECT * FROM central_evaluations WHERE version = ? AND domain = ?").get(version, domain) as CentralEvaluationRow | undefined;
  return row ? centralEvaluationFromRow(row) : null;
}

/** Forgets a failed answer, so that evaluating the version again publishes a new job. */
export function clearCentralFailure(db: Db, version: string, domain: string): void {
  db.prepare("DELETE FROM central_evaluations WHERE version = ? AND domain = ? AND ok = 0").run(version, domain);
}

/** The failed central cells among these versions: `{version, domain, reason}`. */
export function centralFailures(db: Db, versions: string[]): { version: string; domain: string; reason: string }[] {
  if (versions.length === 0) return [];
  const rows = db.prepare(`SELECT * FROM central_evaluations WHERE ok = 0 AND version IN (${versions.map(() => "?").join(",")})`).all(...versions) as CentralEvaluationRow[];
  return rows.map((r) => ({ version: r.version, domain: r.domain, reason: r.reason ?? "failed" }));
}
