// The coordinator database: schema and migrations.
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";
import { DELTA_ENCODINGS, taskSpecSchema } from "../domain.js";
import { ErrorCode, MedfclError } from "../../services/errors/index.js";
import { type Db, nowIso, StoreCorruptError } from "./db.js";
import { parseJson } from "./parse.js";

/** A database written by a newer coordinator: its schema is unknown here and is never downgraded. */
export class SchemaTooNewError extends MedfclError {
  constructor(readonly found: number) {
    super(ErrorCode.FailedPrecondition, `the coordinator database has schema version ${found}; this coordinator knows versions up to ${SCHEMA_VERSION}. Run a newer coordinator (the database is left as it is)`, {
      details: { schemaVersion: found, known: SCHEMA_VERSION },
    });
  }
}

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

/** One small committed write, tried before a coordinator that refused writes takes them again. */
export function probeWrite(db: Db): void {
  db.prepare("INSERT INTO meta (key, value) VALUES ('write_probe', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(nowIso());
}
