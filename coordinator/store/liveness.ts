import type Database from "better-sqlite3";
import type { SiteRecord } from "../domain.js";
import { type Db, nowIso } from "./db.js";

/** The timer a LivenessWriter flushes on; tests hand in their own clock. */
export interface FlushTimer {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const nodeTimer: FlushTimer = {
  set(fn, ms) {
    const t = setTimeout(fn, ms);
    // Pending liveness never keeps a coordinator alive; close() flushes it.
    t.unref();
    return t;
  },
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface LivenessWriterOptions {
  /** How long a touch may wait before it reaches SQLite (default 1000 ms). */
  flushEveryMs?: number;
  timer?: FlushTimer;
  /** Hears every failed flush; the entries stay pending and the flush is tried again. */
  onFlushError?: (err: unknown) => void;
}

/**
 * Liveness of the sites (`sites.last_seen_at`). Every heartbeat and poll touches it, so touches are
 * gathered and written once a second in one transaction: with synchronous = FULL each write is an
 * fsync, and one fsync per heartbeat capped the coordinator at ~120 heartbeats/s (bench/load.ts). A
 * crash loses at most a second of liveness, against a dropout threshold of heartbeatMisses ×
 * interval (30 s by default). One writer per open database, owned by the coordinator's context.
 */
export class LivenessWriter {
  private readonly pending = new Map<string, string>();
  private handle: unknown = null;
  private readonly flushEveryMs: number;
  private readonly timer: FlushTimer;
  private readonly stmt: Database.Statement<[string, string]>;

  constructor(
    private readonly db: Db,
    private readonly options: LivenessWriterOptions = {},
  ) {
    this.flushEveryMs = options.flushEveryMs ?? 1000;
    this.timer = options.timer ?? nodeTimer;
    this.stmt = db.prepare("UPDATE sites SET last_seen_at = ? WHERE site_id = ?");
  }

  touch(siteId: string, at: string = nowIso()): void {
    this.pending.set(siteId, at);
    this.schedule();
  }

  /** When the site was last heard from, counting a touch not yet flushed (a flush may be failing on a full disk). */
  lastSeenAt(site: SiteRecord): string {
    const pending = this.pending.get(site.siteId);
    return pending && pending > site.lastSeenAt ? pending : site.lastSeenAt;
  }

  /** Writes the gathered liveness now (before close, and on the timer). A failed write keeps the entries (newer touches win) and throws. */
  flush(): void {
    if (this.handle !== null) this.timer.clear(this.handle);
    this.handle = null;
    if (this.pending.size === 0 || !this.db.open) return;
    const entries = [...this.pending];
    this.pending.clear();
    try {
      this.db.transaction(() => {
        for (const [siteId, at] of entries) this.stmt.run(at, siteId);
      })();
    } catch (err) {
      for (const [siteId, at] of entries) if (!this.pending.has(siteId)) this.pending.set(siteId, at);
      throw err;
    }
  }

  private schedule(): void {
    if (this.handle !== null) return;
    // A timer callback that throws ends the process: a flush that fails (a full disk) keeps its
    // entries, tells the owner, and is tried again on the next tick.
    this.handle = this.timer.set(() => {
      this.handle = null;
      try {
        this.flush();
      } catch (err) {
        this.options.onFlushError?.(err);
        if (this.db.open) this.schedule();
      }
    }, this.flushEveryMs);
  }
}
