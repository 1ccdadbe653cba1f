import { randomUUID } from "node:crypto";
import type { EventInput } from "./types.js";

/**
 * The id of an event (types.ts EventEnvelope). A state transition happens once, so its id is built
 * from what identifies it, and a repeat publish (after a coordinator restart or a resumed pause)
 * carries the same id; everything else is an occurrence of its own and gets a random id.
 */
export function eventIdOf(e: EventInput): string {
  switch (e.type) {
    case "run.created":
    case "run.completed":
    case "run.failed":
      return `${e.type}:${e.runId}`;
    case "step.opened":
    case "step.closed":
    case "evaluated":
      return `${e.type}:${e.runId}:${e.step}`;
    case "task.assigned":
      return `${e.type}:${e.taskId}`;
    case "update.received":
      return `${e.type}:${e.taskId}:${e.sha256}`;
    // A rejection ends its task, so a task has at most one.
    case "update.rejected":
      return `${e.type}:${e.taskId}`;
    case "site.dropout":
      return `${e.type}:${e.runId}:${e.step}:${e.siteId}:${e.taskId ?? ""}`;
    case "run.paused":
    case "run.resumed":
    case "site.heartbeat":
    case "site.progress":
    case "site.registered":
    case "exemplar.refused":
      return randomUUID();
    default: {
      const never: never = e;
      return never;
    }
  }
}
