import { EventEmitter } from "node:events";

/**
 * In-process wake-ups between gRPC handlers and the round runner: a task was assigned to a site,
 * or a task finished. The durable truth is SQLite; the hub only saves polling.
 */
export interface Hub {
  notifyTaskAssigned(siteId: string): void;
  waitForTaskAssigned(siteId: string, ms: number, signal?: AbortSignal): Promise<void>;
  notifyTaskFinished(taskId: string): void;
  /** Resolves on the next finish of any of the tasks, or after `ms`. */
  waitForAnyTaskFinished(taskIds: string[], ms: number, signal?: AbortSignal): Promise<void>;
}

function waitOn(emitter: EventEmitter, events: string[], ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      for (const e of events) emitter.off(e, done);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    for (const e of events) emitter.once(e, done);
    signal?.addEventListener("abort", done, { once: true });
  });
}

export function createHub(): Hub {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    notifyTaskAssigned: (siteId) => emitter.emit(`assigned:${siteId}`),
    waitForTaskAssigned: (siteId, ms, signal) => waitOn(emitter, [`assigned:${siteId}`], ms, signal),
    notifyTaskFinished: (taskId) => emitter.emit(`finished:${taskId}`),
    waitForAnyTaskFinished: (taskIds, ms, signal) => waitOn(emitter, taskIds.map((t) => `finished:${t}`), ms, signal),
  };
}
