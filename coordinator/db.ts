import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";

export type Db = Database.Database;

/** The schema this code reads and writes; a database of another version is refused at start (state-dir.ts). */
export const SCHEMA_VERSION = 1;

/**
 * Schema version 1. Every table the coordinator needs to resume after a restart: the blob store
 * holds bytes, SQLite holds what they mean.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sites (
  site_id TEXT PRIMARY KEY, domain TEXT NOT NULL, task TEXT NOT NULL, manifest_json TEXT NOT NULL,
  backend TEXT NOT NULL, agent_version TEXT NOT NULL, session_id TEXT NOT NULL,
  registered_at TEXT NOT NULL, last_seen_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, strategy TEXT NOT NULL, state TEXT NOT NULL,
  sites_json TEXT NOT NULL, options_json TEXT NOT NULL, hyper_json TEXT NOT NULL, model TEXT NOT NULL,
  seed INTEGER NOT NULL, base_version TEXT, current_version TEXT, dropout_policy TEXT NOT NULL,
  error TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS steps (
  run_id TEXT NOT NULL, idx INTEGER NOT NULL, state TEXT NOT NULL, domain TEXT NOT NULL,
  sites_json TEXT NOT NULL, parent_version TEXT, version TEXT, dropouts_json TEXT NOT NULL DEFAULT '[]',
  opened_at TEXT NOT NULL, closed_at TEXT, PRIMARY KEY (run_id, idx));
CREATE TABLE IF NOT EXISTS rounds (
  run_id TEXT NOT NULL, step INTEGER NOT NULL, round INTEGER NOT NULL, version TEXT NOT NULL,
  metrics_json TEXT NOT NULL, closed_at TEXT NOT NULL, PRIMARY KEY (run_id, step, round));
CREATE TABLE IF NOT EXISTS tasks (
  task_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, step INTEGER NOT NULL, round INTEGER NOT NULL,
  site_id TEXT NOT NULL, state TEXT NOT NULL, spec_json TEXT NOT NULL, base_version TEXT NOT NULL,
  deadline TEXT NOT NULL, created_at TEXT NOT NULL, delivered_at TEXT, finished_at TEXT, reason TEXT);
CREATE INDEX IF NOT EXISTS tasks_site_state ON tasks (site_id, state);
CREATE TABLE IF NOT EXISTS versions (
  version TEXT PRIMARY KEY, parent TEXT, run_id TEXT, strategy TEXT NOT NULL, step INTEGER NOT NULL,
  sites_json TEXT NOT NULL, config_hash TEXT NOT NULL, size INTEGER NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS updates (
  update_id TEXT NOT NULL, task_id TEXT NOT NULL, site_id TEXT NOT NULL, run_id TEXT NOT NULL,
  step INTEGER NOT NULL, base_version TEXT NOT NULL, encoding TEXT NOT NULL, num_samples INTEGER NOT NULL,
  norm REAL, accepted INTEGER NOT NULL, reason TEXT, metrics_json TEXT NOT NULL, received_at TEXT NOT NULL,
  PRIMARY KEY (update_id, task_id));
CREATE TABLE IF NOT EXISTS exemplars (
  exemplar_id TEXT PRIMARY KEY, site_id TEXT NOT NULL, run_id TEXT NOT NULL, task_id TEXT NOT NULL,
  domain TEXT NOT NULL, mime TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
  boxes_json TEXT NOT NULL, categories_json TEXT NOT NULL, provenance_json TEXT NOT NULL,
  size INTEGER NOT NULL, score REAL NOT NULL DEFAULT 0, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS run_exemplars (
  run_id TEXT NOT NULL, exemplar_id TEXT NOT NULL, site_id TEXT NOT NULL, task_id TEXT NOT NULL,
  created_at TEXT NOT NULL, PRIMARY KEY (run_id, exemplar_id));
CREATE TABLE IF NOT EXISTS metrics (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, task_id TEXT, site_id TEXT, name TEXT NOT NULL,
  value REAL NOT NULL, step INTEGER NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS evaluations (
  run_id TEXT NOT NULL, step INTEGER NOT NULL, domain TEXT NOT NULL, version TEXT NOT NULL,
  ap REAL NOT NULL, ap50 REAL NOT NULL, stats_json TEXT NOT NULL, per_category_json TEXT NOT NULL,
  created_at TEXT NOT NULL, PRIMARY KEY (run_id, step, domain));
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, subject TEXT NOT NULL, payload_json TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notes (
  id INTEGER PRIMARY KEY AUTOINCREMENT, site_id TEXT NOT NULL, task_id TEXT, note TEXT NOT NULL, at TEXT NOT NULL);
`;

export function openDb(path: string): Db {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  // FULL: a committed step survives a power cut, which is what "resume from SQLite" promises.
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  db.exec(SCHEMA);
  // Databases from before run_exemplars: every exemplar belonged to the run that first received it.
  db.exec(`INSERT OR IGNORE INTO run_exemplars (run_id, exemplar_id, site_id, task_id, created_at)
           SELECT run_id, exemplar_id, site_id, task_id, created_at FROM exemplars`);
  db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
  return db;
}

export const nowIso = (): string => new Date().toISOString();

// ---- rows -------------------------------------------------------------------------------------

export interface SiteRow {
  site_id: string;
  domain: string;
  task: string;
  manifest_json: string;
  backend: string;
  agent_version: string;
  session_id: string;
  registered_at: string;
  last_seen_at: string;
}

export type RunState = "pending" | "running" | "completed" | "failed" | "cancelled";

export interface RunRow {
  run_id: string;
  name: string;
  strategy: string;
  state: RunState;
  sites_json: string;
  options_json: string;
  hyper_json: string;
  model: string;
  seed: number;
  base_version: string | null;
  current_version: string | null;
  dropout_policy: string;
  error: string | null;
  created_at: string;
  updated_at: string;
}

export interface StepRow {
  run_id: string;
  idx: number;
  state: string;
  domain: string;
  sites_json: string;
  parent_version: string | null;
  version: string | null;
  dropouts_json: string;
  opened_at: string;
  closed_at: string | null;
}

export type TaskState = "assigned" | "delivered" | "done" | "rejected" | "dropped" | "cancelled" | "refused" | "failed";

export interface TaskRow {
  task_id: string;
  run_id: string;
  step: number;
  round: number;
  site_id: string;
  state: TaskState;
  spec_json: string;
  base_version: string;
  deadline: string;
  created_at: string;
  delivered_at: string | null;
  finished_at: string | null;
  reason: string | null;
}

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

export interface UpdateRow {
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

export interface ExemplarRow {
  exemplar_id: string;
  site_id: string;
  run_id: string;
  task_id: string;
  domain: string;
  mime: string;
  width: number;
  height: number;
  boxes_json: string;
  categories_json: string;
  provenance_json: string;
  size: number;
  score: number;
  created_at: string;
}

export interface EvaluationRow {
  run_id: string;
  step: number;
  domain: string;
  version: string;
  ap: number;
  ap50: number;
  stats_json: string;
  per_category_json: string;
  created_at: string;
}

// ---- sites ------------------------------------------------------------------------------------

export function upsertSite(db: Db, row: Omit<SiteRow, "registered_at" | "last_seen_at">): void {
  const now = nowIso();
  db.prepare(
    `INSERT INTO sites (site_id, domain, task, manifest_json, backend, agent_version, session_id, registered_at, last_seen_at)
     VALUES (@site_id, @domain, @task, @manifest_json, @backend, @agent_version, @session_id, @now, @now)
     ON CONFLICT(site_id) DO UPDATE SET domain=@domain, task=@task, manifest_json=@manifest_json, backend=@backend,
       agent_version=@agent_version, session_id=@session_id, last_seen_at=@now`,
  ).run({ ...row, now });
}

export function getSite(db: Db, siteId: string): SiteRow | undefined {
  return db.prepare("SELECT * FROM sites WHERE site_id = ?").get(siteId) as SiteRow | undefined;
}

export function listSites(db: Db): SiteRow[] {
  return db.prepare("SELECT * FROM sites ORDER BY site_id").all() as SiteRow[];
}

const pendingTouches = new WeakMap<Db, { at: Map<string, string>; timer: NodeJS.Timeout | null }>();

/**
 * Liveness of a site. Every heartbeat and poll touches it, so the writes are gathered and flushed
 * once a second in one transaction: with synchronous = FULL each write is an fsync, and one fsync
 * per heartbeat capped the coordinator at ~120 heartbeats/s (bench/load.ts). A crash loses at most
 * a second of liveness, against a dropout threshold of heartbeatMisses × interval (30 s by default).
 */
export function touchSite(db: Db, siteId: string): void {
  let p = pendingTouches.get(db);
  if (!p) {
    p = { at: new Map(), timer: null };
    pendingTouches.set(db, p);
  }
  p.at.set(siteId, nowIso());
  if (!p.timer) {
    p.timer = setTimeout(() => flushTouches(db), 1000);
    p.timer.unref();
  }
}

/** Writes the gathered liveness now (before close, and on the timer). */
export function flushTouches(db: Db): void {
  const p = pendingTouches.get(db);
  if (!p) return;
  if (p.timer) clearTimeout(p.timer);
  p.timer = null;
  if (p.at.size === 0 || !db.open) return;
  const stmt = db.prepare("UPDATE sites SET last_seen_at = ? WHERE site_id = ?");
  const entries = [...p.at];
  p.at.clear();
  db.transaction(() => {
    for (const [siteId, at] of entries) stmt.run(at, siteId);
  })();
}

// ---- runs and steps ---------------------------------------------------------------------------

export function insertRun(db: Db, row: Omit<RunRow, "created_at" | "updated_at" | "error" | "current_version">): void {
  const now = nowIso();
  db.prepare(
    `INSERT INTO runs (run_id, name, strategy, state, sites_json, options_json, hyper_json, model, seed, base_version,
       current_version, dropout_policy, error, created_at, updated_at)
     VALUES (@run_id, @name, @strategy, @state, @sites_json, @options_json, @hyper_json, @model, @seed, @base_version,
       NULL, @dropout_policy, NULL, @now, @now)`,
  ).run({ ...row, now });
}

export function getRun(db: Db, runId: string): RunRow | undefined {
  return db.prepare("SELECT * FROM runs WHERE run_id = ?").get(runId) as RunRow | undefined;
}

export function getRunByName(db: Db, name: string): RunRow | undefined {
  return db.prepare("SELECT * FROM runs WHERE name = ?").get(name) as RunRow | undefined;
}

export function listRuns(db: Db, opts: { limit: number; offset: number; state?: string }): RunRow[] {
  if (opts.state) {
    return db.prepare("SELECT * FROM runs WHERE state = ? ORDER BY created_at, run_id LIMIT ? OFFSET ?").all(opts.state, opts.limit, opts.offset) as RunRow[];
  }
  return db.prepare("SELECT * FROM runs ORDER BY created_at, run_id LIMIT ? OFFSET ?").all(opts.limit, opts.offset) as RunRow[];
}

export function updateRun(db: Db, runId: string, fields: Partial<Pick<RunRow, "state" | "current_version" | "error" | "base_version">>): void {
  const sets = Object.keys(fields).map((k) => `${k} = @${k}`);
  db.prepare(`UPDATE runs SET ${[...sets, "updated_at = @now"].join(", ")} WHERE run_id = @runId`).run({ ...fields, now: nowIso(), runId });
}

export function upsertStep(db: Db, row: Omit<StepRow, "opened_at" | "closed_at" | "dropouts_json"> & { dropouts_json?: string }): void {
  db.prepare(
    `INSERT INTO steps (run_id, idx, state, domain, sites_json, parent_version, version, dropouts_json, opened_at)
     VALUES (@run_id, @idx, @state, @domain, @sites_json, @parent_version, @version, @dropouts_json, @now)
     ON CONFLICT(run_id, idx) DO UPDATE SET state=@state, domain=@domain, sites_json=@sites_json,
       parent_version=@parent_version, version=@version, dropouts_json=@dropouts_json`,
  ).run({ dropouts_json: "[]", ...row, now: nowIso() });
}

export function updateStep(db: Db, runId: string, idx: number, fields: Partial<Pick<StepRow, "state" | "version" | "dropouts_json" | "closed_at">>): void {
  const sets = Object.keys(fields).map((k) => `${k} = @${k}`);
  db.prepare(`UPDATE steps SET ${sets.join(", ")} WHERE run_id = @runId AND idx = @idx`).run({ ...fields, runId, idx });
}

export function listSteps(db: Db, runId: string): StepRow[] {
  return db.prepare("SELECT * FROM steps WHERE run_id = ? ORDER BY idx").all(runId) as StepRow[];
}

// ---- tasks ------------------------------------------------------------------------------------

export function insertTask(db: Db, row: Omit<TaskRow, "created_at" | "delivered_at" | "finished_at" | "reason">): void {
  db.prepare(
    `INSERT INTO tasks (task_id, run_id, step, round, site_id, state, spec_json, base_version, deadline, created_at)
     VALUES (@task_id, @run_id, @step, @round, @site_id, @state, @spec_json, @base_version, @deadline, @now)`,
  ).run({ ...row, now: nowIso() });
}

export function getTask(db: Db, taskId: string): TaskRow | undefined {
  return db.prepare("SELECT * FROM tasks WHERE task_id = ?").get(taskId) as TaskRow | undefined;
}

/** The oldest task waiting for this site, assigned or delivered but not finished (redelivery after a restart). */
export function pendingTaskForSite(db: Db, siteId: string): TaskRow | undefined {
  return db
    .prepare("SELECT * FROM tasks WHERE site_id = ? AND state IN ('assigned', 'delivered') ORDER BY created_at, task_id LIMIT 1")
    .get(siteId) as TaskRow | undefined;
}

export function tasksForRound(db: Db, runId: string, step: number, round: number): TaskRow[] {
  return db.prepare("SELECT * FROM tasks WHERE run_id = ? AND step = ? AND round = ? ORDER BY site_id").all(runId, step, round) as TaskRow[];
}

export function setTaskState(db: Db, taskId: string, state: TaskState, reason?: string): void {
  const now = nowIso();
  if (state === "delivered") {
    db.prepare("UPDATE tasks SET state = ?, delivered_at = COALESCE(delivered_at, ?) WHERE task_id = ?").run(state, now, taskId);
  } else {
    db.prepare("UPDATE tasks SET state = ?, finished_at = ?, reason = ? WHERE task_id = ?").run(state, now, reason ?? null, taskId);
  }
}

// ---- versions, updates, exemplars, metrics, evaluations --------------------------------------

export function insertVersion(db: Db, row: Omit<VersionRow, "created_at">): void {
  db.prepare(
    `INSERT OR IGNORE INTO versions (version, parent, run_id, strategy, step, sites_json, config_hash, size, created_at)
     VALUES (@version, @parent, @run_id, @strategy, @step, @sites_json, @config_hash, @size, @now)`,
  ).run({ ...row, now: nowIso() });
}

export function getVersion(db: Db, version: string): VersionRow | undefined {
  return db.prepare("SELECT * FROM versions WHERE version = ?").get(version) as VersionRow | undefined;
}

export function versionsForRun(db: Db, runId: string): VersionRow[] {
  return db.prepare("SELECT * FROM versions WHERE run_id = ? ORDER BY step, created_at").all(runId) as VersionRow[];
}

export function insertUpdate(db: Db, row: Omit<UpdateRow, "received_at">): void {
  db.prepare(
    `INSERT OR REPLACE INTO updates (update_id, task_id, site_id, run_id, step, base_version, encoding, num_samples, norm,
       accepted, reason, metrics_json, received_at)
     VALUES (@update_id, @task_id, @site_id, @run_id, @step, @base_version, @encoding, @num_samples, @norm,
       @accepted, @reason, @metrics_json, @now)`,
  ).run({ ...row, now: nowIso() });
}

export function getUpdate(db: Db, updateId: string, taskId: string): UpdateRow | undefined {
  return db.prepare("SELECT * FROM updates WHERE update_id = ? AND task_id = ?").get(updateId, taskId) as UpdateRow | undefined;
}

export function acceptedUpdatesForTask(db: Db, taskId: string): UpdateRow[] {
  return db.prepare("SELECT * FROM updates WHERE task_id = ? AND accepted = 1").all(taskId) as UpdateRow[];
}

export function rejectedUpdatesForRun(db: Db, runId: string): UpdateRow[] {
  return db.prepare("SELECT * FROM updates WHERE run_id = ? AND accepted = 0 ORDER BY received_at").all(runId) as UpdateRow[];
}

/**
 * Stores an exemplar (once: its id is its content hash) and links it to the pushing task's run. A
 * site that re-offers an exemplar it exported in an earlier run adds only the link, so the new run's
 * replay pool holds it. Returns whether the run gained it.
 */
export function insertExemplar(db: Db, row: Omit<ExemplarRow, "created_at">): boolean {
  const now = nowIso();
  const tx = db.transaction(() => {
    db.prepare(
      `INSERT OR IGNORE INTO exemplars (exemplar_id, site_id, run_id, task_id, domain, mime, width, height, boxes_json,
         categories_json, provenance_json, size, score, created_at)
       VALUES (@exemplar_id, @site_id, @run_id, @task_id, @domain, @mime, @width, @height, @boxes_json,
         @categories_json, @provenance_json, @size, @score, @now)`,
    ).run({ ...row, now });
    return db
      .prepare("INSERT OR IGNORE INTO run_exemplars (run_id, exemplar_id, site_id, task_id, created_at) VALUES (?, ?, ?, ?, ?)")
      .run(row.run_id, row.exemplar_id, row.site_id, row.task_id, now).changes;
  });
  return tx() > 0;
}

export function getExemplar(db: Db, id: string): ExemplarRow | undefined {
  return db.prepare("SELECT * FROM exemplars WHERE exemplar_id = ?").get(id) as ExemplarRow | undefined;
}

/**
 * The exemplars a run received; run_id and task_id are this run's. Ordered by step, site, then the
 * order the site sent them in (one push is one ordered stream), never by clock: two exemplars
 * stored in the same millisecond must not swap places between runs, or the seeded replay samplers
 * that index this list would pick different buffers for the same seed.
 */
export function exemplarsForRun(db: Db, runId: string): ExemplarRow[] {
  return db
    .prepare(
      `SELECT e.exemplar_id, l.site_id, l.run_id, l.task_id, e.domain, e.mime, e.width, e.height, e.boxes_json,
              e.categories_json, e.provenance_json, e.size, e.score, l.created_at
         FROM run_exemplars l JOIN exemplars e ON e.exemplar_id = l.exemplar_id
         LEFT JOIN tasks t ON t.task_id = l.task_id
        WHERE l.run_id = ? ORDER BY t.step, l.site_id, l.rowid`,
    )
    .all(runId) as ExemplarRow[];
}

export function insertMetric(db: Db, row: { run_id: string | null; task_id: string | null; site_id: string | null; name: string; value: number; step: number }): void {
  db.prepare(
    "INSERT INTO metrics (run_id, task_id, site_id, name, value, step, created_at) VALUES (@run_id, @task_id, @site_id, @name, @value, @step, @now)",
  ).run({ ...row, now: nowIso() });
}

export function metricsForRun(db: Db, runId: string): { site_id: string | null; task_id: string | null; name: string; value: number; step: number }[] {
  return db.prepare("SELECT site_id, task_id, name, value, step FROM metrics WHERE run_id = ? ORDER BY id").all(runId) as {
    site_id: string | null;
    task_id: string | null;
    name: string;
    value: number;
    step: number;
  }[];
}

export function upsertEvaluation(db: Db, row: Omit<EvaluationRow, "created_at">): void {
  db.prepare(
    `INSERT OR REPLACE INTO evaluations (run_id, step, domain, version, ap, ap50, stats_json, per_category_json, created_at)
     VALUES (@run_id, @step, @domain, @version, @ap, @ap50, @stats_json, @per_category_json, @now)`,
  ).run({ ...row, now: nowIso() });
}

export function evaluationsForRun(db: Db, runId: string): EvaluationRow[] {
  return db.prepare("SELECT * FROM evaluations WHERE run_id = ? ORDER BY step, domain").all(runId) as EvaluationRow[];
}

export function insertEventRow(db: Db, type: string, subject: string, payload: unknown): void {
  db.prepare("INSERT INTO events (type, subject, payload_json, at) VALUES (?, ?, ?, ?)").run(type, subject, JSON.stringify(payload), nowIso());
}

export function insertNote(db: Db, siteId: string, taskId: string | null, note: string): void {
  db.prepare("INSERT INTO notes (site_id, task_id, note, at) VALUES (?, ?, ?, ?)").run(siteId, taskId, note, nowIso());
}

export function closeRound(db: Db, runId: string, step: number, round: number, version: string, metrics: Record<string, number>): void {
  db.prepare("INSERT OR REPLACE INTO rounds (run_id, step, round, version, metrics_json, closed_at) VALUES (?, ?, ?, ?, ?, ?)").run(
    runId, step, round, version, JSON.stringify(metrics), nowIso(),
  );
}

export function roundsOfStep(db: Db, runId: string, step: number): { round: number; version: string }[] {
  return db.prepare("SELECT round, version FROM rounds WHERE run_id = ? AND step = ? ORDER BY round").all(runId, step) as { round: number; version: string }[];
}

export function tasksOfRun(db: Db, runId: string): TaskRow[] {
  return db.prepare("SELECT * FROM tasks WHERE run_id = ? ORDER BY step, round, site_id").all(runId) as TaskRow[];
}

export function openTasksOfSite(db: Db, siteId: string): TaskRow[] {
  return db.prepare("SELECT * FROM tasks WHERE site_id = ? AND state IN ('assigned','delivered')").all(siteId) as TaskRow[];
}
