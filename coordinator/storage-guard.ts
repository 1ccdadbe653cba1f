import { rmSync, statfsSync } from "node:fs";
import { join } from "node:path";
import { ErrorCode, MedfclError } from "../services/errors/index.js";
import type { Logger } from "../services/log/index.js";
import { storageFault, StorageWriteError, writeFileAtomicSync } from "../services/store/index.js";

/**
 * Whether the coordinator takes writes. Like etcd's NOSPACE alarm: below the free-space watermark,
 * or after any write failed for lack of space, it is `disk-full`; after an I/O error or on a
 * read-only filesystem, `disk-error`. Either way it refuses uploads and run creation, keeps serving
 * reads, heartbeats and the dashboard, and goes back to `ok` by itself once a probe write works.
 */
export const STORAGE_STATES = ["ok", "disk-full", "disk-error"] as const;
export type StorageState = (typeof STORAGE_STATES)[number];

export interface StorageStatus {
  state: StorageState;
  /** Why writes are refused (null when ok). */
  reason: string | null;
  /** Free bytes of the state dir's filesystem at the last check (null when statfs failed). */
  freeBytes: number | null;
  watermarkBytes: number;
  /** When the current refusal began (null when ok). */
  since: string | null;
  /** Writes that failed for a storage fault since the process started. */
  writeFailures: number;
}

/** Answer to a write while the coordinator refuses them: what to free, and when to try again. */
export class StorageRefusedError extends MedfclError {
  constructor(status: StorageStatus, stateDir: string, retryAfterMs: number) {
    const full = status.state === "disk-full";
    super(
      full ? ErrorCode.ResourceExhausted : ErrorCode.Unavailable,
      full
        ? `the coordinator refuses writes: ${status.reason}. Free space on the filesystem of ${stateDir}: remove files that are not the coordinator's, grow the volume, or stop the coordinator and run \`medfcl store gc --state-dir ${stateDir} --apply\` to delete blobs no run needs. It resumes by itself once ${fmtBytes(status.watermarkBytes)} are free; retry later`
        : `the coordinator refuses writes: ${status.reason}. Check the device and the mount of ${stateDir}; it resumes by itself once a write works again; retry later`,
      { details: { state: status.state, stateDir, freeBytes: status.freeBytes, watermarkBytes: status.watermarkBytes, retryAfterMs } },
    );
  }
}

export interface StorageGuard {
  status(): StorageStatus;
  readonly writable: boolean;
  /** Throws StorageRefusedError while writes are refused; `what` names the refused operation in the log. */
  assertWritable(what: string): void;
  /**
   * The answer to give for an error a write threw: a storage fault enters the refusing state and
   * becomes a StorageRefusedError; anything else is returned unchanged.
   */
  refusal(err: unknown, what: string): unknown;
  /** Resolves once writes are taken again (at once when they are), or when `signal` aborts. */
  waitWritable(signal: AbortSignal): Promise<void>;
  /** Called on every change of state; returns the unsubscribe function. */
  onChange(fn: (status: StorageStatus) => void): () => void;
  /** Checks now (statfs and, while refusing, a probe write); the timer does this every `checkMs`. */
  check(): void;
  close(): void;
}

export interface StorageGuardOptions {
  stateDir: string;
  /** Free bytes below which writes are refused; 0 turns the watermark off (faults still count). */
  watermarkBytes: number;
  checkMs: number;
  logger: Logger;
  /** A small write to the database, tried before writes are taken again (SQLite can fail where files do not). */
  probeDb: () => void;
}

export function fmtBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${n} B`;
}

/** Leaving disk-full needs this much more than the watermark, so a disk at the edge does not flap. */
const RESUME_MARGIN = 1.1;
const PROBE_BYTES = 64 * 1024;

export function createStorageGuard(o: StorageGuardOptions): StorageGuard {
  let state: StorageState = "ok";
  let reason: string | null = null;
  let since: string | null = null;
  let freeBytes: number | null = null;
  let writeFailures = 0;
  const listeners = new Set<(s: StorageStatus) => void>();
  const waiters = new Set<() => void>();
  const status = (): StorageStatus => ({ state, reason, freeBytes, watermarkBytes: o.watermarkBytes, since, writeFailures });

  const set = (next: StorageState, why: string | null): void => {
    if (next === state && why === reason) return;
    const was = state;
    state = next;
    reason = why;
    if (next === "ok") {
      o.logger.info({ freeBytes, watermarkBytes: o.watermarkBytes, refusedSince: since }, "the state dir takes writes again; uploads and runs resume");
      since = null;
      for (const w of [...waiters]) w();
    } else if (was === "ok") {
      since = new Date().toISOString();
      o.logger.error({ state: next, reason: why, stateDir: o.stateDir, freeBytes, watermarkBytes: o.watermarkBytes }, "the coordinator refuses writes until the state dir has room (reads, heartbeats and the dashboard go on)");
    }
    if (next !== was) for (const fn of listeners) fn(status());
  };

  const statFree = (): number | null => {
    try {
      const s = statfsSync(o.stateDir);
      return s.bavail * s.bsize;
    } catch {
      return null;
    }
  };

  /** A real write of each kind: a file through the same atomic path as blobs, and a database row. */
  const probe = (): StorageWriteError | Error | null => {
    const path = join(o.stateDir, ".write-probe");
    try {
      writeFileAtomicSync(path, Buffer.alloc(PROBE_BYTES));
      rmSync(path, { force: true });
      o.probeDb();
      return null;
    } catch (err) {
      rmSync(path, { force: true });
      return storageFault(err, path) ?? (err as Error);
    }
  };

  const check = (): void => {
    freeBytes = statFree();
    const below = freeBytes !== null && freeBytes < o.watermarkBytes;
    if (state === "ok") {
      if (below) set("disk-full", `the state dir's filesystem has ${fmtBytes(freeBytes!)} free, below coordinator.minFreeBytes (${fmtBytes(o.watermarkBytes)})`);
      return;
    }
    if (freeBytes !== null && freeBytes < o.watermarkBytes * RESUME_MARGIN) {
      if (state === "disk-full") set("disk-full", `the state dir's filesystem has ${fmtBytes(freeBytes)} free, below coordinator.minFreeBytes (${fmtBytes(o.watermarkBytes)})`);
      return;
    }
    const failed = probe();
    if (!failed) set("ok", null);
    else if (state === "disk-full" && failed instanceof StorageWriteError && !failed.full) set("disk-error", failed.message);
  };

  const timer = setInterval(check, o.checkMs);
  timer.unref();
  check();

  return {
    status,
    get writable() {
      return state === "ok";
    },
    assertWritable(what) {
      if (state === "ok") return;
      o.logger.debug({ what, state }, "write refused");
      throw new StorageRefusedError(status(), o.stateDir, o.checkMs);
    },
    refusal(err, what) {
      if (err instanceof StorageRefusedError) return err;
      const fault = storageFault(err, o.stateDir);
      if (!fault) return err;
      writeFailures++;
      o.logger.warn({ what, errno: fault.errno, err: (err as Error).message }, "a write failed for a storage fault");
      freeBytes = statFree();
      if (state === "ok" || (state === "disk-full" && !fault.full)) set(fault.full ? "disk-full" : "disk-error", `${what} failed: ${fault.message.replace(/\. Nothing partial.*$/, "")}`);
      return new StorageRefusedError(status(), o.stateDir, o.checkMs);
    },
    waitWritable(signal) {
      if (state === "ok" || signal.aborted) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = (): void => {
          waiters.delete(done);
          signal.removeEventListener("abort", done);
          resolve();
        };
        waiters.add(done);
        signal.addEventListener("abort", done, { once: true });
      });
    },
    onChange(fn) {
      listeners.add(fn);
      return () => void listeners.delete(fn);
    },
    check,
    close() {
      clearInterval(timer);
      listeners.clear();
      for (const w of [...waiters]) w();
    },
  };
}
