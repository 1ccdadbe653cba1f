// The coordinator database: tasks.
import { z } from "zod";
import { canTransition, OPEN_TASK_STATES, taskSchema, taskSpecSchema, type Task, type TaskSpec, type TaskState } from "../domain.js";
import { type Db, nowIso } from "./db.js";
import { parseJson, parseValue } from "./parse.js";

/** The open states (domain.ts) as an SQL list: constants, never user input. */
const OPEN_STATES_SQL = `(${OPEN_TASK_STATES.map((s) => `'${s}'`).join(", ")})`;

interface TaskRow {
  task_id: string;
  run_id: string;
  step: number;
  round: number;
  site_id: string;
  state: string;
  spec_json: string;
  base_version: string;
  deadline: string;
  created_at: string;
  delivered_at: string | null;
  finished_at: string | null;
  reason: string | null;
}

function taskFromRow(r: TaskRow): Task {
  return parseValue(
    taskSchema,
    {
      taskId: r.task_id,
      runId: r.run_id,
      step: r.step,
      round: r.round,
      siteId: r.site_id,
      state: r.state,
      spec: parseJson(z.unknown(), r.spec_json, { table: "tasks", key: r.task_id, field: "spec_json" }),
      baseVersion: r.base_version,
      deadline: r.deadline,
      createdAt: r.created_at,
      deliveredAt: r.delivered_at,
      finishedAt: r.finished_at,
      reason: r.reason,
    },
    { table: "tasks", key: r.task_id },
  );
}

export function insertTask(db: Db, task: Pick<Task, "taskId" | "runId" | "step" | "round" | "siteId" | "state" | "spec" | "baseVersion" | "deadline">): void {
  const spec: TaskSpec = taskSpecSchema.parse(task.spec);
  db.prepare(
    `INSERT INTO tasks (task_id, run_id, step, round, site_id, state, spec_json, base_version, deadline, created_at)
     VALUES (@task_id, @run_id, @step, @round, @site_id, @state, @spec_json, @base_version, @deadline, @now)`,
  ).run({
    task_id: task.taskId,
    run_id: task.runId,
    step: task.step,
    round: task.round,
    site_id: task.siteId,
    state: task.state,
    spec_json: JSON.stringify(spec),
    base_version: task.baseVersion,
    deadline: task.deadline,
    now: nowIso(),
  });
}

export function getTask(db: Db, taskId: string): Task | undefined {
  const row = db.prepare("SELECT * FROM tasks WHERE task_id = ?").get(taskId) as TaskRow | undefined;
  return row && taskFromRow(row);
}

/** The oldest task waiting for this site, assigned or delivered but not finished (redelivery after a restart). */
export function pendingTaskForSite(db: Db, siteId: string): Task | undefined {
  const row = db
    .prepare(`SELECT * FROM tasks WHERE site_id = ? AND state IN ${OPEN_STATES_SQL} ORDER BY created_at, task_id LIMIT 1`)
    .get(siteId) as TaskRow | undefined;
  return row && taskFromRow(row);
}

export function tasksForRound(db: Db, runId: string, step: number, round: number): Task[] {
  return (db.prepare("SELECT * FROM tasks WHERE run_id = ? AND step = ? AND round = ? ORDER BY site_id").all(runId, step, round) as TaskRow[]).map(taskFromRow);
}

export function tasksOfRun(db: Db, runId: string): Task[] {
  return (db.prepare("SELECT * FROM tasks WHERE run_id = ? ORDER BY step, round, site_id").all(runId) as TaskRow[]).map(taskFromRow);
}

/** Moves the deadline of each open task of a run `ms` later (the time the run was paused for a full disk). */
export function extendOpenTaskDeadlines(db: Db, runId: string, ms: number): void {
  const rows = db.prepare(`SELECT task_id, deadline FROM tasks WHERE run_id = ? AND state IN ${OPEN_STATES_SQL}`).all(runId) as { task_id: string; deadline: string }[];
  const set = db.prepare("UPDATE tasks SET deadline = ? WHERE task_id = ?");
  db.transaction(() => {
    for (const r of rows) set.run(new Date(Date.parse(r.deadline) + ms).toISOString(), r.task_id);
  })();
}

/** Whether one of the site's tasks starts from this model version (it may then pull it). */
export function siteHasTaskFrom(db: Db, siteId: string, version: string): boolean {
  return Boolean(db.prepare("SELECT 1 FROM tasks WHERE site_id = ? AND base_version = ? LIMIT 1").get(siteId, version));
}

/**
 * Moves a task along its state machine (domain.ts canTransition). Returns false, changing nothing,
 * when the task is unknown or already finished: a late report never rewrites how a task ended.
 */
export function setTaskState(db: Db, taskId: string, state: TaskState, reason?: string): boolean {
  const now = nowIso();
  return db.transaction(() => {
    const row = db.prepare("SELECT state FROM tasks WHERE task_id = ?").get(taskId) as { state: TaskState } | undefined;
    if (!row || !canTransition(row.state, state)) return false;
    if (state === "delivered") {
      db.prepare("UPDATE tasks SET state = ?, delivered_at = COALESCE(delivered_at, ?) WHERE task_id = ?").run(state, now, taskId);
    } else {
      db.prepare("UPDATE tasks SET state = ?, finished_at = ?, reason = ? WHERE task_id = ?").run(state, now, reason ?? null, taskId);
    }
    return true;
  })();
}
