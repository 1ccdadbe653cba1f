import type { Logger } from "../log/index.js";

/**
 * Events the coordinator (and, for site events, the agents' activity as seen by the coordinator)
 * publishes. A union tagged by `type`; each type has exactly one subject builder in `subjects.ts`.
 * `at` is an ISO-8601 time; `step` is the 0-based step index of a run.
 */
export interface RunCreatedEvent {
  type: "run.created";
  runId: string;
  strategy: string;
  /** Sites in plan order. */
  sites: string[];
  /** Planned number of steps. */
  steps: number;
  at: string;
}

export interface RunCompletedEvent {
  type: "run.completed";
  runId: string;
  /** The last model version the run produced, if any. */
  finalVersion?: string;
  at: string;
}

export interface RunFailedEvent {
  type: "run.failed";
  runId: string;
  reason: string;
  at: string;
}

/**
 * The run waits because the coordinator's state dir refuses writes (a full disk, an I/O error);
 * nothing it committed is lost, and it goes on by itself (`run.resumed`) once there is room.
 */
export interface RunPausedEvent {
  type: "run.paused";
  runId: string;
  /** The step it was at; -1 before the first step. */
  step: number;
  /** What it could not do, e.g. "aggregating". */
  phase: string;
  reason: string;
  at: string;
}

export interface RunResumedEvent {
  type: "run.resumed";
  runId: string;
  step: number;
  phase: string;
  /** Why it had paused (the same reason as the run.paused before it). */
  reason: string;
  pausedMs: number;
  at: string;
}

export interface StepOpenedEvent {
  type: "step.opened";
  runId: string;
  step: number;
  /** Model version the step starts from. */
  baseVersion: string;
  sites: string[];
  at: string;
}

export interface TaskAssignedEvent {
  type: "task.assigned";
  runId: string;
  step: number;
  siteId: string;
  taskId: string;
  baseVersion: string;
  /** ISO time after which the task counts as a straggler. */
  deadline?: string;
  at: string;
}

export interface UpdateReceivedEvent {
  type: "update.received";
  runId: string;
  step: number;
  siteId: string;
  taskId: string;
  /** Content address of the delta. */
  sha256: string;
  bytes: number;
  numSamples?: number;
  at: string;
}

export interface UpdateRejectedEvent {
  type: "update.rejected";
  runId: string;
  step: number;
  siteId: string;
  taskId: string;
  reason: string;
  /** The MedfclError code the validation produced, e.g. "INVALID_ARGUMENT". */
  code?: string;
  at: string;
}

export interface EvaluatedEvent {
  type: "evaluated";
  runId: string;
  step: number;
  version: string;
  /** COCO AP (0..1 or %, as the evaluator reports it) per domain name: row `step` of R. */
  ap: Record<string, number>;
  at: string;
}

export interface StepClosedEvent {
  type: "step.closed";
  runId: string;
  step: number;
  /** The version the step produced; absent when aggregation kept the previous model. */
  version?: string;
  at: string;
}

export interface SiteDropoutEvent {
  type: "site.dropout";
  runId: string;
  step: number;
  siteId: string;
  taskId?: string;
  reason: string;
  at: string;
}

export interface SiteHeartbeatEvent {
  type: "site.heartbeat";
  siteId: string;
  /** "idle", "downloading", "training", "uploading". */
  state: string;
  taskId?: string;
  at: string;
}

export interface SiteProgressEvent {
  type: "site.progress";
  siteId: string;
  runId?: string;
  taskId: string;
  /** Fraction of the task done, 0..1. */
  progress: number;
  loss?: number;
  at: string;
}

export interface SiteRegisteredEvent {
  type: "site.registered";
  siteId: string;
  agentVersion: string;
  backend?: string;
  at: string;
}

/** An exemplar the coordinator refused (not decodable, over its limits, or not what was declared). */
export interface ExemplarRefusedEvent {
  type: "exemplar.refused";
  siteId: string;
  taskId?: string;
  exemplarId: string;
  reason: string;
  at: string;
}

/**
 * What every event carries besides its own fields. Delivery is at least once: a coordinator that
 * restarts, or resumes a run after a pause, may publish a transition again. `id` lets a consumer
 * drop the repeat: a state transition (run.created, step.opened, task.assigned, update.received,
 * evaluated, step.closed, run.completed, ...) has the same id every time it is published
 * (events/ids.ts); an occurrence that is not a transition (heartbeat, progress, pause) gets a fresh
 * one. JetStream drops a repeat within its duplicate window by the same id (Nats-Msg-Id).
 */
export interface EventEnvelope {
  id: string;
}

type AnyEvent =
  | RunCreatedEvent
  | RunCompletedEvent
  | RunFailedEvent
  | RunPausedEvent
  | RunResumedEvent
  | StepOpenedEvent
  | TaskAssignedEvent
  | UpdateReceivedEvent
  | UpdateRejectedEvent
  | EvaluatedEvent
  | StepClosedEvent
  | SiteDropoutEvent
  | SiteHeartbeatEvent
  | SiteProgressEvent
  | SiteRegisteredEvent
  | ExemplarRefusedEvent;

export type MedfclEvent = AnyEvent & EventEnvelope;

export type EventType = MedfclEvent["type"];

/** The event of one type. */
export type EventOf<T extends EventType> = Extract<MedfclEvent, { type: T }>;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What callers hand to `publish`: `at` defaults to the publish time, `id` to the event's own (ids.ts). */
export type EventInput = DistributiveOmit<AnyEvent, "at"> & { at?: string; id?: string };

export type EventHandler = (event: MedfclEvent, subject: string) => void;

export interface EventSubscription {
  unsubscribe(): void;
}

export interface EventBusOptions {
  /** NATS server URL, e.g. nats://127.0.0.1:4222. Without it events go to the log and `sink` only. */
  natsUrl?: string;
  logger: Logger;
  /** JetStream stream that keeps events durably. Default `MEDFCL_EVENTS`. */
  stream?: string;
  /** Called with every event, NATS or not (the coordinator writes them to SQLite here). */
  sink?: (event: MedfclEvent) => void;
  /** How long the stream keeps events. Default 30 days. */
  maxAgeMs?: number;
  /** How long one publish waits for the JetStream ack before it logs and moves on. Default 2000. */
  publishTimeoutMs?: number;
  /** How long the first connect may take. Default 5000. */
  connectTimeoutMs?: number;
  /** Connection name the server shows, e.g. "medfcl-coordinator". */
  name?: string;
}

export interface EventBus {
  /** True while a NATS connection is up; false without `natsUrl` or during a reconnect. */
  readonly connected: boolean;
  /** The JetStream stream name, or null when NATS is off. */
  readonly stream: string | null;
  /** Logs the event, hands it to the sink and (when connected) publishes it with a JetStream ack. Never rejects. */
  publish(event: EventInput): Promise<void>;
  /**
   * Calls `handler` for every event whose subject matches `subjectFilter` (NATS wildcards `*`, `>`).
   * Over NATS when connected, in-process otherwise. Resolves once the server has the interest.
   */
  subscribe(subjectFilter: string, handler: EventHandler): Promise<EventSubscription>;
  /** Flushes pending publishes and closes the connection. Idempotent. */
  close(): Promise<void>;
}
