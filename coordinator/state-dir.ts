import Database from "better-sqlite3";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { ErrorCode, MedfclError } from "../services/errors/index.js";
import type { Logger } from "../services/log/index.js";
import { writeFileAtomicSync } from "../services/store/index.js";
import { SCHEMA_VERSION } from "./store/index.js";

/** Another process owns the state dir. The CLI exits 2 with this message. */
export class StateDirLockedError extends MedfclError {
  constructor(stateDir: string, holder: LockHolder | null) {
    super(
      ErrorCode.FailedPrecondition,
      holder
        ? `state dir ${stateDir} is in use by coordinator pid ${holder.pid} on host ${holder.host} (since ${holder.startedAt}); stop it first, or use another --state-dir`
        : `state dir ${stateDir} is locked by another coordinator (its owner file is unreadable); stop it first, or use another --state-dir`,
      { details: { stateDir, pid: holder?.pid, host: holder?.host } },
    );
  }
}

/** The database does not describe the blob store beside it; starting would silently forget runs. */
export class StateMismatchError extends MedfclError {
  constructor(stateDir: string, message: string) {
    super(ErrorCode.FailedPrecondition, `${join(stateDir, "coordinator.sqlite")}: ${message}`, { details: { stateDir } });
  }
}

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
}

export interface StateLock {
  release(): void;
}

const OWNER_FILE = "coordinator.lock";
const LOCK_DB = "coordinator.lock.sqlite";

function readHolder(path: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(path, "utf8")) as LockHolder;
    return typeof h.pid === "number" && typeof h.host === "string" ? h : null;
  } catch {
    return null;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the state dir for this process. The lock itself is SQLite's EXCLUSIVE locking mode on a
 * small database of its own: an OS file lock that the kernel drops when the holder dies, so a
 * crash never leaves a lock that blocks the next start. `coordinator.lock` beside it names the
 * holder (pid, host) for the message a second coordinator prints. The main database keeps normal
 * locking so operators can read it while the coordinator runs.
 */
export function acquireStateLock(stateDir: string, logger: Logger): StateLock {
  mkdirSync(stateDir, { recursive: true });
  const ownerPath = join(stateDir, OWNER_FILE);
  const lockDb = new Database(join(stateDir, LOCK_DB), { timeout: 0 });
  try {
    lockDb.pragma("locking_mode = EXCLUSIVE");
    lockDb.exec("CREATE TABLE IF NOT EXISTS owner (pid INTEGER NOT NULL, host TEXT NOT NULL, started_at TEXT NOT NULL)");
    // A write takes the EXCLUSIVE lock, and EXCLUSIVE locking mode keeps it until close.
    lockDb.exec("BEGIN EXCLUSIVE; DELETE FROM owner; COMMIT;");
  } catch (err) {
    lockDb.close();
    if ((err as { code?: string }).code === "SQLITE_BUSY") throw new StateDirLockedError(stateDir, readHolder(ownerPath));
    throw new MedfclError(ErrorCode.Internal, `cannot lock state dir ${stateDir}: ${(err as Error).message}`, { cause: err });
  }
  const previous = readHolder(ownerPath);
  if (previous && !(previous.pid === process.pid && previous.host === hostname())) {
    // We hold the OS lock, so the process named there is gone (or was on a host whose lock died with it).
    const dead = previous.host === hostname() && !pidAlive(previous.pid);
    logger.warn({ pid: previous.pid, host: previous.host, since: previous.startedAt, dead }, "state dir lock left by a coordinator that is gone; taking it over");
  }
  const me: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  lockDb.prepare("INSERT INTO owner (pid, host, started_at) VALUES (?, ?, ?)").run(me.pid, me.host, me.startedAt);
  writeFileAtomicSync(ownerPath, `${JSON.stringify(me)}\n`);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      // The owner file stays: without the OS lock it is recognised as stale by the next start.
      lockDb.close();
    },
  };
}

function blobCount(blobsDir: string): number {
  if (!existsSync(blobsDir)) return 0;
  let n = 0;
  for (const shard of readdirSync(blobsDir)) {
    if (shard.length !== 2) continue;
    n += readdirSync(join(blobsDir, shard)).filter((f) => /^[0-9a-f]{64}$/.test(f)).length;
  }
  return n;
}

/** What is wrong with the database, or null when it is usable (or absent beside an empty store). */
function diagnose(dbPath: string, blobs: number): string | null {
  if (!existsSync(dbPath)) return blobs > 0 ? `is missing, but the blob store holds ${blobs} blobs` : null;
  // A database whose pages are all still in its WAL (never checkpointed) is not empty.
  const wal = `${dbPath}-wal`;
  const walBytes = existsSync(wal) ? statSync(wal).size : 0;
  if (statSync(dbPath).size === 0 && walBytes === 0) return blobs > 0 ? `is empty (0 bytes), but the blob store holds ${blobs} blobs` : null;
  let d: Database.Database | null = null;
  try {
    // Read-write: a read-only connection cannot recover a WAL left by a killed coordinator. We hold the lock.
    d = new Database(dbPath, { fileMustExist: true, timeout: 5000 });
    const check = d.pragma("quick_check", { simple: true }) as string;
    if (check !== "ok") return `fails SQLite's integrity check (${check}); it is truncated or corrupt`;
    const hasMeta = d.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
    if (!hasMeta) return blobs > 0 ? `has no medfcl schema, but the blob store holds ${blobs} blobs` : null;
    const row = d.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
    if (!row) return `has no schema_version; it is not a medfcl coordinator database`;
    const version = Number(row.value);
    if (!Number.isInteger(version) || version < 1) return `has schema version "${row.value}", which is not a version number`;
    // An older schema is migrated when the database opens (store.ts); a newer one is never downgraded.
    if (version > SCHEMA_VERSION) return `has schema version ${version}; this coordinator knows versions up to ${SCHEMA_VERSION} (run a newer coordinator)`;
    const runs = d.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'runs'").get() as { n: number };
    if (runs.n === 0) return `lacks the runs table; it is truncated or corrupt`;
    return null;
  } catch (err) {
    return `cannot be read (${(err as Error).message}); it is truncated or corrupt`;
  } finally {
    d?.close();
  }
}

/**
 * Refuses to start over a database that does not describe the blob store beside it: empty,
 * truncated, corrupt, or of another schema version. With `fresh`, the database (and its WAL) is
 * moved aside, never deleted, and a new one is started; the blobs stay (they are content-addressed).
 */
export function checkStateDir(stateDir: string, fresh: boolean, logger: Logger): void {
  const dbPath = join(stateDir, "coordinator.sqlite");
  const problem = diagnose(dbPath, blobCount(join(stateDir, "blobs")));
  if (!problem) return;
  if (!fresh) throw new StateMismatchError(stateDir, `${problem}. Restore the database from a backup, or start a new one with --fresh-state (the old file is kept beside it)`);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  for (const suffix of ["", "-wal", "-shm"]) {
    if (existsSync(dbPath + suffix)) renameSync(dbPath + suffix, `${dbPath}.${stamp}.bak${suffix}`);
  }
  logger.warn({ problem, keptAs: `${dbPath}.${stamp}.bak` }, "starting with a fresh database (--fresh-state)");
}
