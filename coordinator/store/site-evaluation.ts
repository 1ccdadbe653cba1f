// The coordinator database: evaluation at the sites: test splits and eval tasks.
import { z } from "zod";
import { EVAL_TASK_STATES, type EvalTask, type EvalTaskState, type SiteTestSet } from "../domain.js";
import { type Db, nowIso } from "./db.js";
import { parseJson, parseValue } from "./parse.js";

// Tables of their own (site_test_sets, eval_tasks), read and written only here.

const testSetSchema = z.object({
  numImages: z.number().int().min(0),
  numAnnotations: z.number().int().min(0),
  categoryIds: z.array(z.number().int()),
  annotationsSha256: z.string(),
});

/** Records the test split a site declared at Register; `null` forgets it (an agent restarted without one). */
export function setSiteTestSet(db: Db, siteId: string, testSet: Omit<SiteTestSet, "siteId"> | null): void {
  if (!testSet) {
    db.prepare("DELETE FROM site_test_sets WHERE site_id = ?").run(siteId);
    return;
  }
  db.prepare(
    `INSERT INTO site_test_sets (site_id, manifest_json, registered_at) VALUES (?, ?, ?)
     ON CONFLICT(site_id) DO UPDATE SET manifest_json = excluded.manifest_json, registered_at = excluded.registered_at`,
  ).run(siteId, JSON.stringify(testSetSchema.parse(testSet)), nowIso());
}

export function getSiteTestSet(db: Db, siteId: string): SiteTestSet | undefined {
  const row = db.prepare("SELECT manifest_json FROM site_test_sets WHERE site_id = ?").get(siteId) as { manifest_json: string } | undefined;
  return row && { siteId, ...parseJson(testSetSchema, row.manifest_json, { table: "site_test_sets", key: siteId, field: "manifest_json" }) };
}

interface EvalTaskRow {
  task_id: string;
  run_id: string;
  step: number;
  site_id: string;
  domain: string;
  version: string;
  state: string;
  deadline: string;
  created_at: string;
  delivered_at: string | null;
  finished_at: string | null;
  reason: string | null;
  result_json: string | null;
}

function evalTaskFromRow(r: EvalTaskRow): EvalTask {
  return {
    taskId: r.task_id,
    runId: r.run_id,
    step: r.step,
    siteId: r.site_id,
    domain: r.domain,
    version: r.version,
    state: parseValue(z.enum(EVAL_TASK_STATES), r.state, { table: "eval_tasks", key: r.task_id, field: "state" }),
    deadline: r.deadline,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
    reason: r.reason,
  };
}

export function insertEvalTask(db: Db, t: Pick<EvalTask, "taskId" | "runId" | "step" | "siteId" | "domain" | "version" | "state" | "deadline" | "reason">): void {
  const now = nowIso();
  db.prepare(
    `INSERT INTO eval_tasks (task_id, run_id, step, site_id, domain, version, state, deadline, created_at, finished_at, reason)
     VALUES (@task_id, @run_id, @step, @site_id, @domain, @version, @state, @deadline, @now, @finished_at, @reason)`,
  ).run({
    task_id: t.taskId,
    run_id: t.runId,
    step: t.step,
    site_id: t.siteId,
    domain: t.domain,
    version: t.version,
    state: t.state,
    deadline: t.deadline,
    now,
    finished_at: t.state === "unavailable" ? now : null,
    reason: t.reason,
  });
}

export function getEvalTask(db: Db, taskId: string): EvalTask | undefined {
  const row = db.prepare("SELECT * FROM eval_tasks WHERE task_id = ?").get(taskId) as EvalTaskRow | undefined;
  return row && evalTaskFromRow(row);
}

/** The eval tasks of one step of a run (-1: the base model), by site. */
export function evalTasksForStep(db: Db, runId: string, step: number): EvalTask[] {
  return (db.prepare("SELECT * FROM eval_tasks WHERE run_id = ? AND step = ? ORDER BY site_id").all(runId, step) as EvalTaskRow[]).map(evalTaskFromRow);
}

export function evalTasksOfRun(db: Db, runId: string): EvalTask[] {
  return (db.prepare("SELECT * FROM eval_tasks WHERE run_id = ? ORDER BY step, site_id").all(runId) as EvalTaskRow[]).map(evalTaskFromRow);
}

/** The oldest eval task waiting for this site (assigned, or delivered and not answered: redelivery after a restart). */
export function pendingEvalTaskForSite(db: Db, siteId: string): EvalTask | undefined {
  const row = db.prepare("SELECT * FROM eval_tasks WHERE site_id = ? AND state IN ('assigned', 'delivered') ORDER BY created_at, task_id LIMIT 1").get(siteId) as EvalTaskRow | undefined;
  return row && evalTaskFromRow(row);
}

/** Whether one of the site's eval tasks names this model version (it may then pull it). */
export function siteHasEvalTaskFor(db: Db, siteId: string, version: string): boolean {
  return Boolean(db.prepare("SELECT 1 FROM eval_tasks WHERE site_id = ? AND version = ? AND state IN ('assigned', 'delivered') LIMIT 1").get(siteId, version));
}

/**
 * Moves an eval task on: open tasks only (a late answer never rewrites how one ended). `result` is
 * stored with "done". Returns whether it moved.
 */
export function finishEvalTask(db: Db, taskId: string, state: EvalTaskState, fields: { reason?: string | null; result?: unknown } = {}): boolean {
  const now = nowIso();
  if (state === "delivered") {
    return db.prepare("UPDATE eval_tasks SET state = 'delivered', delivered_at = COALESCE(delivered_at, ?) WHERE task_id = ? AND state IN ('assigned', 'delivered')").run(now, taskId).changes > 0;
  }
  return (
    db
      .prepare("UPDATE eval_tasks SET state = ?, finished_at = ?, reason = ?, result_json = ? WHERE task_id = ? AND state IN ('assigned', 'delivered')")
      .run(state, now, fields.reason ?? null, fields.result === undefined ? null : JSON.stringify(fields.result), taskId).changes > 0
  );
}

/** The result a site returned for a done eval task (as stored by finishEvalTask), or undefined. */
export function evalTaskResult(db: Db, taskId: string): unknown {
  const row = db.prepare("SELECT result_json FROM eval_tasks WHERE task_id = ? AND state = 'done'").get(taskId) as { result_json: string | null } | undefined;
  if (!row?.result_json) return undefined;
  return parseJson(z.unknown(), row.result_json, { table: "eval_tasks", key: taskId, field: "result_json" });
}
