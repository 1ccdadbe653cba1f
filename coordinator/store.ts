import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";
import { ErrorCode, MedfclError } from "../services/errors/index.js";
import type { DomainEvaluation } from "../services/evaluation/index.js";
import {
  canTransition,
  EVAL_TASK_STATES,
  OPEN_TASK_STATES,
  DELTA_ENCODINGS,
  runSchema,
  stepSchema,
  taskSchema,
  taskSpecSchema,
  type DeltaEncoding,
  type EvalTask,
  type EvalTaskState,
  type Run,
  type SiteRecord,
  type SiteTestSet,
  type Step,
  type Task,
  type TaskSpec,
  type TaskState,
} from "./domain.js";

/**
 * The coordinator's database: the only module with SQL. Everything it returns is parsed and
 * validated into the domain types of domain.ts; a row that does not parse is an error naming the
 * table, the row and the field, never a value cast into shape.
 */
export type Db = Database.Database;

/** A database row that does not hold what this code wrote (hand edits, corruption, a bug). */
export class StoreCorruptError extends MedfclError {
  constructor(message: string, details: Record<string, unknown>) {
    super(ErrorCode.DataLoss, message, { details });
  }
}

/** A database written by a newer coordinator: its schema is unknown here and is never downgraded. */
export class SchemaTooNewError extends MedfclError {
  constructor(readonly found: number) {
    super(ErrorCode.FailedPrecondition, `the coordinator database has schema version ${found}; this coordinator knows versions up to ${SCHEMA_VERSION}. Run a newer coordinator (the database is left as it is)`, {
      details: { schemaVersion: found, known: SCHEMA_VERSION },
    });
  }
}

// ---- schema and migrations --------------------------------------------------------------------

/**
 * Schema version 1 (the first release). Every table the coordinator needs to resume after a
 * restart: the blob store holds bytes, SQLite holds what they mean.
 */
const SCHEMA_V1 = `
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

/** ALTER TABLE … ADD COLUMN, once: a hand-repaired or partly migrated database may have the column already. */
function addColumnIfMissing(db: Db, table: string, column: string, declaration: string): void {
  const columns = db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
  if (!columns.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${declaration}`);
}

/**
 * Numbered migrations; `meta.schema_version` records the last one applied. Each runs in one
 * transaction with the version bump, so a crash leaves the database at the old version or the new
 * one, never between.
 */
const MIGRATIONS: { version: number; what: string; up: (db: Db) => void }[] = [
  {
    version: 1,
    what: "tables of the first release",
    up(db) {
      db.exec(SCHEMA_V1);
      // Databases from before run_exemplars: every exemplar belonged to the run that first received it.
      db.exec(`INSERT OR IGNORE INTO run_exemplars (run_id, exemplar_id, site_id, task_id, created_at)
               SELECT run_id, exemplar_id, site_id, task_id, created_at FROM exemplars`);
    },
  },
  {
    version: 2,
    what: "run-level delta encoding column; task specs with every field explicit",
    up(db) {
      // Schema 1 gained run_exemplars without a version bump: a schema-1 database may predate it.
      db.exec(SCHEMA_V1);
      db.exec(`INSERT OR IGNORE INTO run_exemplars (run_id, exemplar_id, site_id, task_id, created_at)
               SELECT run_id, exemplar_id, site_id, task_id, created_at FROM exemplars`);
      db.exec("ALTER TABLE runs ADD COLUMN delta_encoding TEXT NOT NULL DEFAULT 'fp32'");
      // delta_encoding was a strategy option the strategies refused, so no stored run has one; a
      // hand-made row that does keeps it, as the run-level setting.
      const runs = db.prepare("SELECT run_id, options_json FROM runs").all() as { run_id: string; options_json: string }[];
      const setRun = db.prepare("UPDATE runs SET options_json = ?, delta_encoding = ? WHERE run_id = ?");
      for (const r of runs) {
        const options = parseJson(z.record(z.string()), r.options_json, { table: "runs", key: r.run_id, field: "options_json" });
        if (!("delta_encoding" in options)) continue;
        const { delta_encoding: enc, ...rest } = options;
        setRun.run(JSON.stringify(rest), (DELTA_ENCODINGS as readonly string[]).includes(enc) ? enc : "fp32", r.run_id);
      }
      // Tasks stored before shotsSelection existed read as "random"; an empty sampler as "random".
      const tasks = db.prepare("SELECT task_id, spec_json FROM tasks").all() as { task_id: string; spec_json: string }[];
      const setTask = db.prepare("UPDATE tasks SET spec_json = ? WHERE task_id = ?");
      for (const t of tasks) {
        const spec = parseJson(z.record(z.unknown()), t.spec_json, { table: "tasks", key: t.task_id, field: "spec_json" });
        const filled = { ...spec, shotsSelection: spec.shotsSelection || "random", exemplarSampler: spec.exemplarSampler || "random", deltaEncoding: spec.deltaEncoding || "fp32" };
        setTask.run(JSON.stringify(taskSpecSchema.parse(filled)), t.task_id);
      }
    },
  },
  {
    version: 3,
    what: "evaluation at the sites: the run's evaluation placement, the sites' test splits, eval tasks, the source of each evaluation",
    up(db) {
      addColumnIfMissing(db, "runs", "evaluation", "TEXT NOT NULL DEFAULT 'central'");
      addColumnIfMissing(db, "evaluations", "source", "TEXT NOT NULL DEFAULT 'central'");
      db.exec(`
        CREATE TABLE IF NOT EXISTS site_test_sets (
          site_id TEXT PRIMARY KEY, manifest_json TEXT NOT NULL, registered_at TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS eval_tasks (
          task_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, step INTEGER NOT NULL, site_id TEXT NOT NULL,
          domain TEXT NOT NULL, version TEXT NOT NULL, state TEXT NOT NULL, deadline TEXT NOT NULL,
          created_at TEXT NOT NULL, delivered_at TEXT, finished_at TEXT, reason TEXT, result_json TEXT);
        CREATE INDEX IF NOT EXISTS eval_tasks_site_state ON eval_tasks (site_id, state);
        CREATE INDEX IF NOT EXISTS eval_tasks_run_step ON eval_tasks (run_id, step);
      `);
    },
  },
  {
    version: 4,
    what: "secure aggregation: the run setting and the SecAgg+ round state (keys, forwarded shares, revealed shares)",
    up(db) {
      addColumnIfMissing(db, "runs", "secure_aggregation", "INTEGER NOT NULL DEFAULT 0");
      addColumnIfMissing(db, "runs", "secure_aggregation_threshold", "INTEGER NOT NULL DEFAULT 0");
      db.exec(`
        CREATE TABLE IF NOT EXISTS secagg_rounds (
          round_key TEXT PRIMARY KEY, run_id TEXT NOT NULL, step INTEGER NOT NULL, round INTEGER NOT NULL,
          config_json TEXT NOT NULL, stage TEXT NOT NULL, survivors_json TEXT NOT NULL DEFAULT '[]',
          dropped_json TEXT NOT NULL DEFAULT '[]', error TEXT, created_at TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS secagg_keys (
          round_key TEXT NOT NULL, site_id TEXT NOT NULL, encryption_public_key BLOB NOT NULL,
          mask_public_key BLOB NOT NULL, self_mask_commitment TEXT NOT NULL, PRIMARY KEY (round_key, site_id));
        CREATE TABLE IF NOT EXISTS secagg_shares (
          round_key TEXT NOT NULL, from_site TEXT NOT NULL, to_site TEXT NOT NULL, ciphertext BLOB NOT NULL,
          PRIMARY KEY (round_key, from_site, to_site));
        CREATE TABLE IF NOT EXISTS secagg_reveals (
          round_key TEXT NOT NULL, from_site TEXT NOT NULL, of_site TEXT NOT NULL, kind TEXT NOT NULL, share BLOB NOT NULL,
          PRIMARY KEY (round_key, from_site, of_site));
      `);
    },
  },
  {
    version: 5,
    what: "central evaluation on JetStream workers: one result per (model version, domain), or why there is none",
    up(db) {
      db.exec(`
        CREATE TABLE IF NOT EXISTS central_evaluations (
          version TEXT NOT NULL, domain TEXT NOT NULL, ok INTEGER NOT NULL, result_json TEXT, reason TEXT,
          worker TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (version, domain));
      `);
    },
  },
];

/** The schema this code reads and writes: the last migration. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** The schema version stored in a database; 0 when it has none (a new, empty file). */
export function storedSchemaVersion(db: Db): number {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
  if (!hasMeta) return 0;
  const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
  if (!row) return 0;
  const v = Number(row.value);
  if (!Number.isInteger(v) || v < 1) throw new StoreCorruptError(`meta.schema_version is "${row.value}", not a version number`, { table: "meta", field: "schema_version" });
  return v;
}

/** Brings the database to SCHEMA_VERSION; refuses one that is newer. Returns the versions applied. */
export function migrate(db: Db): number[] {
  const from = storedSchemaVersion(db);
  if (from > SCHEMA_VERSION) throw new SchemaTooNewError(from);
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (m.version <= from) continue;
    db.transaction(() => {
      m.up(db);
      db.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
      db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(String(m.version));
    })();
    applied.push(m.version);
  }
  return applied;
}

export function openDb(path: string): Db {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma("journal_mode = WAL");
    // FULL: a committed step survives a power cut, which is what "resume from SQLite" promises.
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/**
 * Opens a coordinator database to read only (`store verify`, a dry-run `store gc`), beside a running
 * coordinator or not; it is neither migrated nor written. A newer schema is refused.
 */
export function openDbReadOnly(path: string): Db {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const version = storedSchemaVersion(db);
    if (version > SCHEMA_VERSION) throw new SchemaTooNewError(version);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

export const nowIso = (): string => new Date().toISOString();

/** One small committed write, tried before a coordinator that refused writes takes them again. */
export function probeWrite(db: Db): void {
  db.prepare("INSERT INTO meta (key, value) VALUES ('write_probe', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(nowIso());
}

// ---- parsing ----------------------------------------------------------------------------------

interface Where {
  table: string;
  key: string;
  field?: string;
}

function describe(where: Where, issues: z.ZodIssue[]): string {
  const first = issues[0];
  const path = [where.field, ...first.path].filter((p) => p !== undefined && p !== "").join(".");
  return `coordinator database: ${where.table} row "${where.key}"${path ? ` field ${path}` : ""}: ${first.message}`;
}

function parseJson<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, text: string, where: Where & { field: string }): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new StoreCorruptError(`coordinator database: ${where.table} row "${where.key}" field ${where.field} is not JSON (${(err as Error).message})`, { ...where });
  }
  return parseValue(schema, raw, where);
}

function parseValue<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, raw: unknown, where: Where): T {
  const r = schema.safeParse(raw);
  if (!r.success) throw new StoreCorruptError(describe(where, r.error.issues), { ...where, path: r.error.issues[0].path.join(".") });
  return r.data;
}

const stringList = z.array(z.string());

// ---- sites ------------------------------------------------------------------------------------

interface SiteRow {
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

const manifestSchema = z.object({ num_images: z.number().int().min(0) }).passthrough();

function siteFromRow(r: SiteRow): SiteRecord {
  return {
    siteId: r.site_id,
    domain: r.domain,
    task: r.task,
    manifest: parseJson(manifestSchema, r.manifest_json, { table: "sites", key: r.site_id, field: "manifest_json" }),
    backend: r.backend,
    agentVersion: r.agent_version,
    sessionId: r.session_id,
    registeredAt: r.registered_at,
    lastSeenAt: r.last_seen_at,
  };
}

export function upsertSite(db: Db, site: Omit<SiteRecord, "registeredAt" | "lastSeenAt">): void {
  const now = nowIso();
  db.prepare(
    `INSERT INTO sites (site_id, domain, task, manifest_json, backend, agent_version, session_id, registered_at, last_seen_at)
     VALUES (@site_id, @domain, @task, @manifest_json, @backend, @agent_version, @session_id, @now, @now)
     ON CONFLICT(site_id) DO UPDATE SET domain=@domain, task=@task, manifest_json=@manifest_json, backend=@backend,
       agent_version=@agent_version, session_id=@session_id, last_seen_at=@now`,
  ).run({
    site_id: site.siteId,
    domain: site.domain,
    task: site.task,
    manifest_json: JSON.stringify(site.manifest),
    backend: site.backend,
    agent_version: site.agentVersion,
    session_id: site.sessionId,
    now,
  });
}

export function getSite(db: Db, siteId: string): SiteRecord | undefined {
  const row = db.prepare("SELECT * FROM sites WHERE site_id = ?").get(siteId) as SiteRow | undefined;
  return row && siteFromRow(row);
}

const sessionStatements = new WeakMap<Db, Database.Statement>();

/**
 * A site's session id alone, through one prepared statement per database: every heartbeat asks it
 * (1,000 agents at one beat per 1.5 s are ~670 a second), and getSite would re-prepare the query and
 * re-validate the whole manifest each time.
 */
export function siteSession(db: Db, siteId: string): string | undefined {
  let stmt = sessionStatements.get(db);
  if (!stmt) {
    stmt = db.prepare("SELECT session_id FROM sites WHERE site_id = ?");
    sessionStatements.set(db, stmt);
  }
  return (stmt.get(siteId) as { session_id: string } | undefined)?.session_id;
}

export function listSites(db: Db): SiteRecord[] {
  return (db.prepare("SELECT * FROM sites ORDER BY site_id").all() as SiteRow[]).map(siteFromRow);
}

const pendingTouches = new WeakMap<Db, { at: Map<string, string>; timer: NodeJS.Timeout | null; onError?: (err: unknown) => void }>();

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
  scheduleFlush(db, p);
}

function scheduleFlush(db: Db, p: NonNullable<ReturnType<typeof pendingTouches.get>>): void {
  if (p.timer) return;
  // A timer callback that throws ends the process: a flush that fails (a full disk) keeps its
  // entries, tells the owner, and is tried again on the next tick.
  p.timer = setTimeout(() => {
    p.timer = null;
    try {
      flushTouches(db);
    } catch (err) {
      p.onError?.(err);
      if (db.open) scheduleFlush(db, p);
    }
  }, 1000);
  p.timer.unref();
}

/** When the site was last heard from, counting a touch not yet flushed (a flush may be failing on a full disk). */
export function lastSeenAt(db: Db, site: SiteRecord): string {
  const pending = pendingTouches.get(db)?.at.get(site.siteId);
  return pending && pending > site.lastSeenAt ? pending : site.lastSeenAt;
}

/** Called with the error of every write-behind flush that fails (it is retried a second later). */
export function onTouchFlushError(db: Db, fn: (err: unknown) => void): void {
  let p = pendingTouches.get(db);
  if (!p) {
    p = { at: new Map(), timer: null };
    pendingTouches.set(db, p);
  }
  p.onError = fn;
}

/**
 * Writes the gathered liveness now (before close, and on the timer). When the write fails, the
 * entries stay pending (newer touches win) and the error is thrown.
 */
export function flushTouches(db: Db): void {
  const p = pendingTouches.get(db);
  if (!p) return;
  if (p.timer) clearTimeout(p.timer);
  p.timer = null;
  if (p.at.size === 0 || !db.open) return;
  const stmt = db.prepare("UPDATE sites SET last_seen_at = ? WHERE site_id = ?");
  const entries = [...p.at];
  p.at.clear();
  try {
    db.transaction(() => {
      for (const [siteId, at] of entries) stmt.run(at, siteId);
    })();
  } catch (err) {
    for (const [siteId, at] of entries) if (!p.at.has(siteId)) p.at.set(siteId, at);
    throw err;
  }
}

// ---- runs and steps ---------------------------------------------------------------------------

interface RunRow {
  run_id: string;
  name: string;
  strategy: string;
  state: string;
  sites_json: string;
  options_json: string;
  hyper_json: string;
  model: string;
  seed: number;
  base_version: string | null;
  current_version: string | null;
  dropout_policy: string;
  delta_encoding: string;
  evaluation: string;
  secure_aggregation: number;
  secure_aggregation_threshold: number;
  error: string | null;
  created_at: string;
  updated_at: string;
}

function runFromRow(r: RunRow): Run {
  const where = (field: string) => ({ table: "runs", key: r.run_id, field });
  return parseValue(
    runSchema,
    {
      runId: r.run_id,
      name: r.name,
      strategy: r.strategy,
      state: r.state,
      sites: parseJson(stringList, r.sites_json, where("sites_json")),
      options: parseJson(z.record(z.string()), r.options_json, where("options_json")),
      hyper: parseJson(z.unknown(), r.hyper_json, where("hyper_json")),
      model: r.model,
      seed: r.seed,
      baseVersion: r.base_version,
      currentVersion: r.current_version,
      dropoutPolicy: r.dropout_policy,
      deltaEncoding: r.delta_encoding,
      evaluation: r.evaluation,
      secureAggregation: r.secure_aggregation === 1,
      secureAggregationThreshold: r.secure_aggregation_threshold,
      error: r.error,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    },
    { table: "runs", key: r.run_id },
  );
}

export type NewRun = Omit<Run, "createdAt" | "updatedAt" | "error" | "currentVersion">;

export function insertRun(db: Db, run: NewRun): void {
  const now = nowIso();
  db.prepare(
    `INSERT INTO runs (run_id, name, strategy, state, sites_json, options_json, hyper_json, model, seed, base_version,
       current_version, dropout_policy, delta_encoding, evaluation, secure_aggregation, secure_aggregation_threshold, error, created_at, updated_at)
     VALUES (@run_id, @name, @strategy, @state, @sites_json, @options_json, @hyper_json, @model, @seed, @base_version,
       NULL, @dropout_policy, @delta_encoding, @evaluation, @secure_aggregation, @secure_aggregation_threshold, NULL, @now, @now)`,
  ).run({
    run_id: run.runId,
    name: run.name,
    strategy: run.strategy,
    state: run.state,
    sites_json: JSON.stringify(run.sites),
    options_json: JSON.stringify(run.options),
    hyper_json: JSON.stringify(run.hyper),
    model: run.model,
    seed: run.seed,
    base_version: run.baseVersion,
    dropout_policy: run.dropoutPolicy,
    delta_encoding: run.deltaEncoding,
    evaluation: run.evaluation,
    secure_aggregation: run.secureAggregation ? 1 : 0,
    secure_aggregation_threshold: run.secureAggregationThreshold,
    now,
  });
}

export function getRun(db: Db, runId: string): Run | undefined {
  const row = db.prepare("SELECT * FROM runs WHERE run_id = ?").get(runId) as RunRow | undefined;
  return row && runFromRow(row);
}

export function getRunByName(db: Db, name: string): Run | undefined {
  const row = db.prepare("SELECT * FROM runs WHERE name = ?").get(name) as RunRow | undefined;
  return row && runFromRow(row);
}

export function listRuns(db: Db, opts: { limit: number; offset: number; state?: string }): Run[] {
  const rows = opts.state
    ? db.prepare("SELECT * FROM runs WHERE state = ? ORDER BY created_at, run_id LIMIT ? OFFSET ?").all(opts.state, opts.limit, opts.offset)
    : db.prepare("SELECT * FROM runs ORDER BY created_at, run_id LIMIT ? OFFSET ?").all(opts.limit, opts.offset);
  return (rows as RunRow[]).map(runFromRow);
}

/** The newest runs first (listRuns pages oldest first, for the admin API), for the dashboard. */
export function latestRuns(db: Db, limit: number): Run[] {
  return (db.prepare("SELECT * FROM runs ORDER BY created_at DESC, run_id DESC LIMIT ?").all(limit) as RunRow[]).map(runFromRow);
}

/** Runs per state, for /metrics. */
export function runCountsByState(db: Db): { state: string; n: number }[] {
  return db.prepare("SELECT state, COUNT(*) AS n FROM runs GROUP BY state").all() as { state: string; n: number }[];
}

const RUN_COLUMNS = { state: "state", currentVersion: "current_version", error: "error", baseVersion: "base_version" } as const;

export function updateRun(db: Db, runId: string, fields: Partial<Pick<Run, "state" | "currentVersion" | "error" | "baseVersion">>): void {
  const entries = Object.entries(fields).filter(([, v]) => v !== undefined) as [keyof typeof RUN_COLUMNS, unknown][];
  const sets = entries.map(([k]) => `${RUN_COLUMNS[k]} = @${k}`);
  db.prepare(`UPDATE runs SET ${[...sets, "updated_at = @now"].join(", ")} WHERE run_id = @runId`).run({ ...Object.fromEntries(entries), now: nowIso(), runId });
}

interface StepRow {
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

function stepFromRow(r: StepRow): Step {
  const key = `${r.run_id}/${r.idx}`;
  return parseValue(
    stepSchema,
    {
      runId: r.run_id,
      index: r.idx,
      state: r.state,
      domain: r.domain,
      sites: parseJson(stringList, r.sites_json, { table: "steps", key, field: "sites_json" }),
      parentVersion: r.parent_version,
      version: r.version,
      dropouts: parseJson(stringList, r.dropouts_json, { table: "steps", key, field: "dropouts_json" }),
      openedAt: r.opened_at,
      closedAt: r.closed_at,
    },
    { table: "steps", key },
  );
}

export function upsertStep(db: Db, step: Pick<Step, "runId" | "index" | "state" | "domain" | "sites" | "parentVersion" | "version"> & { dropouts?: string[] }): void {
  db.prepare(
    `INSERT INTO steps (run_id, idx, state, domain, sites_json, parent_version, version, dropouts_json, opened_at)
     VALUES (@run_id, @idx, @state, @domain, @sites_json, @parent_version, @version, @dropouts_json, @now)
     ON CONFLICT(run_id, idx) DO UPDATE SET state=@state, domain=@domain, sites_json=@sites_json,
       parent_version=@parent_version, version=@version, dropouts_json=@dropouts_json`,
  ).run({
    run_id: step.runId,
    idx: step.index,
    state: step.state,
    domain: step.domain,
    sites_json: JSON.stringify(step.sites),
    parent_version: step.parentVersion,
    version: step.version,
    dropouts_json: JSON.stringify(step.dropouts ?? []),
    now: nowIso(),
  });
}

export function updateStep(db: Db, runId: string, idx: number, fields: Partial<Pick<Step, "state" | "version" | "dropouts" | "closedAt">>): void {
  const values: Record<string, unknown> = {};
  if (fields.state !== undefined) values.state = fields.state;
  if (fields.version !== undefined) values.version = fields.version;
  if (fields.dropouts !== undefined) values.dropouts_json = JSON.stringify(fields.dropouts);
  if (fields.closedAt !== undefined) values.closed_at = fields.closedAt;
  const sets = Object.keys(values).map((k) => `${k} = @${k}`);
  if (sets.length === 0) return;
  db.prepare(`UPDATE steps SET ${sets.join(", ")} WHERE run_id = @runId AND idx = @idx`).run({ ...values, runId, idx });
}

export function listSteps(db: Db, runId: string): Step[] {
  return (db.prepare("SELECT * FROM steps WHERE run_id = ? ORDER BY idx").all(runId) as StepRow[]).map(stepFromRow);
}

export function closeRound(db: Db, runId: string, step: number, round: number, version: string, metrics: Record<string, number>): void {
  db.prepare("INSERT OR REPLACE INTO rounds (run_id, step, round, version, metrics_json, closed_at) VALUES (?, ?, ?, ?, ?, ?)").run(
    runId, step, round, version, JSON.stringify(metrics), nowIso(),
  );
}

export function roundsOfStep(db: Db, runId: string, step: number): { round: number; version: string }[] {
  return db.prepare("SELECT round, version FROM rounds WHERE run_id = ? AND step = ? ORDER BY round").all(runId, step) as { round: number; version: string }[];
}

// ---- tasks ------------------------------------------------------------------------------------

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

export function openTasksOfSite(db: Db, siteId: string): Task[] {
  return (db.prepare(`SELECT * FROM tasks WHERE site_id = ? AND state IN ${OPEN_STATES_SQL}`).all(siteId) as TaskRow[]).map(taskFromRow);
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

// ---- versions ---------------------------------------------------------------------------------

export interface VersionRecord {
  version: string;
  parent: string | null;
  runId: string | null;
  strategy: string;
  step: number;
  sites: string[];
  configHash: string;
  size: number;
  createdAt: string;
}

interface VersionRow {
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

function versionFromRow(r: VersionRow): VersionRecord {
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

export function getVersion(db: Db, version: string): VersionRecord | undefined {
  const row = db.prepare("SELECT * FROM versions WHERE version = ?").get(version) as VersionRow | undefined;
  return row && versionFromRow(row);
}

export function versionsForRun(db: Db, runId: string): VersionRecord[] {
  return (db.prepare("SELECT * FROM versions WHERE run_id = ? ORDER BY step, created_at").all(runId) as VersionRow[]).map(versionFromRow);
}

// ---- updates ----------------------------------------------------------------------------------

const metricSchema = z.object({ name: z.string(), value: z.number(), step: z.union([z.number(), z.string()]).transform(Number) });
export type MetricRecord = z.infer<typeof metricSchema>;

export interface UpdateRecord {
  updateId: string;
  taskId: string;
  siteId: string;
  runId: string;
  step: number;
  baseVersion: string;
  encoding: DeltaEncoding;
  numSamples: number;
  norm: number | null;
  accepted: boolean;
  reason: string | null;
  metrics: MetricRecord[];
  receivedAt: string;
}

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
    metrics: parseJson(z.array(metricSchema), r.metrics_json, { table: "updates", key, field: "metrics_json" }),
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

// ---- retention and integrity (store gc, store verify) ------------------------------------------

/** The blobs the database names, by what they are; `store gc` deletes none of `versions`, `exemplars` or `liveUpdates`. */
export interface BlobReferences {
  /** Every model version of every lineage. */
  versions: Set<string>;
  exemplars: Set<string>;
  /** Accepted updates of runs still pending or running (a round may yet aggregate them). */
  liveUpdates: Set<string>;
  /** Accepted updates of runs that ended: their record (sha256, site, norm) stays; the bytes are no longer needed. */
  endedUpdates: Set<string>;
}

export function blobReferences(db: Db): BlobReferences {
  const col = (sql: string): Set<string> => new Set((db.prepare(sql).pluck().all() as string[]));
  const updates = db.prepare("SELECT u.update_id AS id, r.state AS state FROM updates u LEFT JOIN runs r ON r.run_id = u.run_id WHERE u.accepted = 1").all() as { id: string; state: string | null }[];
  const live = new Set(updates.filter((u) => u.state === "pending" || u.state === "running").map((u) => u.id));
  return {
    versions: col("SELECT version FROM versions"),
    exemplars: col("SELECT exemplar_id FROM exemplars"),
    liveUpdates: live,
    endedUpdates: new Set(updates.map((u) => u.id).filter((id) => !live.has(id))),
  };
}

/**
 * Version rows that nothing points to: no run (base, current), step (parent, result), round or
 * child version names them. A retried aggregation that committed its version but not its round
 * left such a row beside the real one before both became one commit.
 */
export function orphanVersions(db: Db): VersionRecord[] {
  return (
    db
      .prepare(
        `SELECT * FROM versions v WHERE
           NOT EXISTS (SELECT 1 FROM runs r WHERE r.base_version = v.version OR r.current_version = v.version)
           AND NOT EXISTS (SELECT 1 FROM steps s WHERE s.version = v.version OR s.parent_version = v.version)
           AND NOT EXISTS (SELECT 1 FROM rounds o WHERE o.version = v.version)
           AND NOT EXISTS (SELECT 1 FROM versions c WHERE c.parent = v.version)
         ORDER BY v.created_at`,
      )
      .all() as VersionRow[]
  ).map(versionFromRow);
}

// ---- exemplars --------------------------------------------------------------------------------

const boxSchema = z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number(), category_id: z.number().int() });
const promptSchema = z.object({ prefix: z.string(), name: z.string(), suffix: z.string() });
const categorySchema = z.object({ id: z.number().int(), name: z.string(), prompt: promptSchema.nullable().optional() });
const provenanceSchema = z
  .object({
    content_sha256: z.string(),
    source_hmac: z.string(),
    site_id: z.string(),
    stages: z.array(z.object({ name: z.string(), version: z.string(), removed: z.array(z.string()) })),
    exported_at: z.string(),
  })
  .passthrough();
export type ExemplarBox = z.infer<typeof boxSchema>;
export type ExemplarCategory = z.infer<typeof categorySchema>;
export type ExemplarProvenance = z.infer<typeof provenanceSchema>;

export interface ExemplarRecord {
  exemplarId: string;
  siteId: string;
  runId: string;
  taskId: string;
  domain: string;
  mime: string;
  width: number;
  height: number;
  boxes: ExemplarBox[];
  categories: ExemplarCategory[];
  provenance: ExemplarProvenance;
  size: number;
  score: number;
  createdAt: string;
}

interface ExemplarRow {
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

function exemplarFromRow(r: ExemplarRow): ExemplarRecord {
  const where = (field: string) => ({ table: "exemplars", key: r.exemplar_id, field });
  return {
    exemplarId: r.exemplar_id,
    siteId: r.site_id,
    runId: r.run_id,
    taskId: r.task_id,
    domain: r.domain,
    mime: r.mime,
    width: r.width,
    height: r.height,
    boxes: parseJson(z.array(boxSchema), r.boxes_json, where("boxes_json")),
    categories: parseJson(z.array(categorySchema), r.categories_json, where("categories_json")),
    provenance: parseJson(provenanceSchema, r.provenance_json, where("provenance_json")),
    size: r.size,
    score: r.score,
    createdAt: r.created_at,
  };
}

/**
 * Stores an exemplar (once: its id is its content hash) and links it to the pushing task's run. A
 * site that re-offers an exemplar it exported in an earlier run adds only the link, so the new run's
 * replay pool holds it. Returns whether the run gained it.
 */
export function insertExemplar(db: Db, e: Omit<ExemplarRecord, "createdAt">): boolean {
  const now = nowIso();
  const tx = db.transaction(() => {
    db.prepare(
      `INSERT OR IGNORE INTO exemplars (exemplar_id, site_id, run_id, task_id, domain, mime, width, height, boxes_json,
         categories_json, provenance_json, size, score, created_at)
       VALUES (@exemplar_id, @site_id, @run_id, @task_id, @domain, @mime, @width, @height, @boxes_json,
         @categories_json, @provenance_json, @size, @score, @now)`,
    ).run({
      exemplar_id: e.exemplarId,
      site_id: e.siteId,
      run_id: e.runId,
      task_id: e.taskId,
      domain: e.domain,
      mime: e.mime,
      width: e.width,
      height: e.height,
      boxes_json: JSON.stringify(e.boxes),
      categories_json: JSON.stringify(e.categories),
      provenance_json: JSON.stringify(e.provenance),
      size: e.size,
      score: e.score,
      now,
    });
    return db
      .prepare("INSERT OR IGNORE INTO run_exemplars (run_id, exemplar_id, site_id, task_id, created_at) VALUES (?, ?, ?, ?, ?)")
      .run(e.runId, e.exemplarId, e.siteId, e.taskId, now).changes;
  });
  return tx() > 0;
}

export function getExemplar(db: Db, id: string): ExemplarRecord | undefined {
  const row = db.prepare("SELECT * FROM exemplars WHERE exemplar_id = ?").get(id) as ExemplarRow | undefined;
  return row && exemplarFromRow(row);
}

export function exemplarCount(db: Db): number {
  return (db.prepare("SELECT COUNT(*) AS n FROM exemplars").get() as { n: number }).n;
}

/**
 * The exemplars a run received; run_id and task_id are this run's. Ordered by step, site, then the
 * order the site sent them in (one push is one ordered stream), never by clock: two exemplars
 * stored in the same millisecond must not swap places between runs, or the seeded replay samplers
 * that index this list would pick different buffers for the same seed.
 */
export function exemplarsForRun(db: Db, runId: string): ExemplarRecord[] {
  return (
    db
      .prepare(
        `SELECT e.exemplar_id, l.site_id, l.run_id, l.task_id, e.domain, e.mime, e.width, e.height, e.boxes_json,
                e.categories_json, e.provenance_json, e.size, e.score, l.created_at
           FROM run_exemplars l JOIN exemplars e ON e.exemplar_id = l.exemplar_id
           LEFT JOIN tasks t ON t.task_id = l.task_id
          WHERE l.run_id = ? ORDER BY t.step, l.site_id, l.rowid`,
      )
      .all(runId) as ExemplarRow[]
  ).map(exemplarFromRow);
}

// ---- metrics, evaluations, events, notes ------------------------------------------------------

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

export interface EvaluationRecord {
  runId: string;
  step: number;
  domain: string;
  version: string;
  ap: number;
  ap50: number;
  /** COCO summary statistics; null where COCO leaves one undefined (stored as JSON null). */
  stats: (number | null)[];
  perCategoryAp: Record<string, number | null>;
  /** "central", or "site:<id>" for a result a site returned. */
  source: string;
  createdAt: string;
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

// ---- evaluation at the sites: test splits and eval tasks --------------------------------------
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

// ---- secure aggregation: SecAgg+ round state --------------------------------------------------
// Tables of their own (secagg_rounds, secagg_keys, secagg_shares, secagg_reveals), only here.

export const SECAGG_STAGES = ["keys", "shares", "masking", "unmask", "done", "failed"] as const;
export type SecAggStage = (typeof SECAGG_STAGES)[number];

export interface SecAggRoundRecord {
  roundKey: string;
  runId: string;
  step: number;
  round: number;
  config: unknown;
  stage: SecAggStage;
  survivors: string[];
  dropped: string[];
  error: string | null;
}

interface SecAggRoundRow {
  round_key: string;
  run_id: string;
  step: number;
  round: number;
  config_json: string;
  stage: string;
  survivors_json: string;
  dropped_json: string;
  error: string | null;
}

export function insertSecAggRound(db: Db, r: { roundKey: string; runId: string; step: number; round: number; config: unknown }): void {
  db.prepare("INSERT OR IGNORE INTO secagg_rounds (round_key, run_id, step, round, config_json, stage, created_at) VALUES (?, ?, ?, ?, ?, 'keys', ?)").run(
    r.roundKey, r.runId, r.step, r.round, JSON.stringify(r.config), nowIso(),
  );
}

export function getSecAggRound(db: Db, roundKey: string): SecAggRoundRecord | undefined {
  const r = db.prepare("SELECT * FROM secagg_rounds WHERE round_key = ?").get(roundKey) as SecAggRoundRow | undefined;
  if (!r) return undefined;
  const where = (field: string) => ({ table: "secagg_rounds", key: roundKey, field });
  return {
    roundKey: r.round_key,
    runId: r.run_id,
    step: r.step,
    round: r.round,
    config: parseJson(z.unknown(), r.config_json, where("config_json")),
    stage: parseValue(z.enum(SECAGG_STAGES), r.stage, where("stage")),
    survivors: parseJson(stringList, r.survivors_json, where("survivors_json")),
    dropped: parseJson(stringList, r.dropped_json, where("dropped_json")),
    error: r.error,
  };
}

export function setSecAggStage(db: Db, roundKey: string, stage: SecAggStage, fields: { survivors?: string[]; dropped?: string[]; error?: string } = {}): void {
  db.prepare(
    "UPDATE secagg_rounds SET stage = ?, survivors_json = COALESCE(?, survivors_json), dropped_json = COALESCE(?, dropped_json), error = COALESCE(?, error) WHERE round_key = ?",
  ).run(stage, fields.survivors ? JSON.stringify(fields.survivors) : null, fields.dropped ? JSON.stringify(fields.dropped) : null, fields.error ?? null, roundKey);
}

export interface SecAggKeysRecord {
  siteId: string;
  encryptionPublicKey: Buffer;
  maskPublicKey: Buffer;
  selfMaskCommitment: string;
}

/** Stores a site's advertised keys once; returns the stored ones (a retry with other keys gets the first). */
export function putSecAggKeys(db: Db, roundKey: string, k: SecAggKeysRecord): SecAggKeysRecord {
  db.prepare("INSERT OR IGNORE INTO secagg_keys (round_key, site_id, encryption_public_key, mask_public_key, self_mask_commitment) VALUES (?, ?, ?, ?, ?)").run(
    roundKey, k.siteId, k.encryptionPublicKey, k.maskPublicKey, k.selfMaskCommitment,
  );
  return secAggKeys(db, roundKey).find((x) => x.siteId === k.siteId)!;
}

export function secAggKeys(db: Db, roundKey: string): SecAggKeysRecord[] {
  return (
    db.prepare("SELECT site_id, encryption_public_key, mask_public_key, self_mask_commitment FROM secagg_keys WHERE round_key = ? ORDER BY site_id").all(roundKey) as {
      site_id: string;
      encryption_public_key: Buffer;
      mask_public_key: Buffer;
      self_mask_commitment: string;
    }[]
  ).map((r) => ({ siteId: r.site_id, encryptionPublicKey: r.encryption_public_key, maskPublicKey: r.mask_public_key, selfMaskCommitment: r.self_mask_commitment }));
}

export function putSecAggShares(db: Db, roundKey: string, shares: { from: string; to: string; ciphertext: Buffer }[]): void {
  const stmt = db.prepare("INSERT OR IGNORE INTO secagg_shares (round_key, from_site, to_site, ciphertext) VALUES (?, ?, ?, ?)");
  db.transaction(() => {
    for (const s of shares) stmt.run(roundKey, s.from, s.to, s.ciphertext);
  })();
}

export function secAggShares(db: Db, roundKey: string): { from: string; to: string; ciphertext: Buffer }[] {
  return (db.prepare("SELECT from_site, to_site, ciphertext FROM secagg_shares WHERE round_key = ? ORDER BY from_site, to_site").all(roundKey) as { from_site: string; to_site: string; ciphertext: Buffer }[]).map((r) => ({
    from: r.from_site,
    to: r.to_site,
    ciphertext: r.ciphertext,
  }));
}

export function putSecAggReveals(db: Db, roundKey: string, reveals: { from: string; of: string; kind: string; share: Buffer }[]): void {
  const stmt = db.prepare("INSERT OR IGNORE INTO secagg_reveals (round_key, from_site, of_site, kind, share) VALUES (?, ?, ?, ?, ?)");
  db.transaction(() => {
    for (const r of reveals) stmt.run(roundKey, r.from, r.of, r.kind, r.share);
  })();
}

export function secAggReveals(db: Db, roundKey: string): { from: string; of: string; kind: string; share: Buffer }[] {
  return (db.prepare("SELECT from_site, of_site, kind, share FROM secagg_reveals WHERE round_key = ?").all(roundKey) as { from_site: string; of_site: string; kind: string; share: Buffer }[]).map((r) => ({
    from: r.from_site,
    of: r.of_site,
    kind: r.kind,
    share: r.share,
  }));
}

// ---- central evaluation results (JetStream workers) -------------------------------------------

export type CentralEvaluation = { version: string; domain: string; worker: string } & ({ ok: true; evaluation: DomainEvaluation } | { ok: false; reason: string });

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
