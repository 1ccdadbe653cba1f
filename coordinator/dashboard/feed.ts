import type { MedfclEvent } from "../../services/events/index.js";

/** What the latest heartbeat and progress of a site said; only kept in memory (heartbeats are not stored). */
export interface SiteLive {
  siteId: string;
  state: string;
  taskId: string | null;
  runId: string | null;
  /** 0..1 of the current task, from the latest progress report. */
  progress: number | null;
  loss: number | null;
  lastHeartbeatAt: string | null;
}

export interface FeedEntry {
  seq: number;
  event: MedfclEvent;
}

/**
 * The dashboard's side of the event stream: every event the coordinator publishes (the same ones
 * that go to NATS) is numbered, folded into each site's live state, and pushed to the connected
 * clients. All but heartbeats and progress are also kept in a bounded ring for clients that
 * reconnect (SSE Last-Event-ID): those two only update the live state, which /api/state serves, and
 * at 1,000 sites they would push every other event out of a ring of 1,000 within a second and a half.
 */
export interface DashboardFeed {
  push(event: MedfclEvent): void;
  /** Calls `fn` for every later event; returns the unsubscribe function. */
  subscribe(fn: (entry: FeedEntry) => void): () => void;
  /** Entries with seq > `afterSeq` still in the ring (heartbeats and progress are not kept), oldest first. */
  since(afterSeq: number): FeedEntry[];
  /** The newest entries of the ring. */
  tail(n: number): FeedEntry[];
  siteLive(): Map<string, SiteLive>;
  readonly lastSeq: number;
  readonly clients: number;
}

/** Events that only update a site's live state: delivered to connected clients, never kept for replay. */
const isLiveOnly = (e: MedfclEvent): boolean => e.type === "site.heartbeat" || e.type === "site.progress";

/**
 * `firstSeq` is where this process's numbering starts: by default the start time in ms × 1000, so a
 * restarted coordinator numbers above every event of the one before it (a thousand events per
 * millisecond of uptime would be needed to overlap) and a client resuming after Last-Event-ID
 * misses nothing of the new process.
 */
export function createDashboardFeed(capacity = 1000, firstSeq = Date.now() * 1000): DashboardFeed {
  const ring: FeedEntry[] = [];
  const listeners = new Set<(entry: FeedEntry) => void>();
  const sites = new Map<string, SiteLive>();
  let seq = firstSeq;
  const site = (siteId: string): SiteLive => {
    let s = sites.get(siteId);
    if (!s) {
      s = { siteId, state: "unknown", taskId: null, runId: null, progress: null, loss: null, lastHeartbeatAt: null };
      sites.set(siteId, s);
    }
    return s;
  };
  const fold = (e: MedfclEvent): void => {
    switch (e.type) {
      case "site.heartbeat": {
        const s = site(e.siteId);
        s.state = e.state;
        s.lastHeartbeatAt = e.at;
        if (e.taskId !== s.taskId) {
          s.taskId = e.taskId ?? null;
          s.progress = null;
          s.loss = null;
        }
        break;
      }
      case "site.progress": {
        const s = site(e.siteId);
        s.taskId = e.taskId;
        s.runId = e.runId ?? s.runId;
        s.progress = e.progress;
        s.loss = e.loss ?? s.loss;
        break;
      }
      case "task.assigned": {
        const s = site(e.siteId);
        s.runId = e.runId;
        break;
      }
      case "site.registered":
        site(e.siteId).state = "idle";
        break;
      default:
        break;
    }
  };
  return {
    push(event) {
      const entry = { seq: ++seq, event };
      fold(event);
      if (!isLiveOnly(event)) {
        ring.push(entry);
        if (ring.length > capacity) ring.splice(0, ring.length - capacity);
      }
      for (const fn of listeners) {
        try {
          fn(entry);
        } catch {
          // A client that cannot take an event is dropped by its own error handler; the rest go on.
        }
      }
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => void listeners.delete(fn);
    },
    since(afterSeq) {
      return ring.filter((e) => e.seq > afterSeq);
    },
    tail(n) {
      return n > 0 ? ring.slice(-n) : [];
    },
    siteLive: () => sites,
    get lastSeq() {
      return seq;
    },
    get clients() {
      return listeners.size;
    },
  };
}
