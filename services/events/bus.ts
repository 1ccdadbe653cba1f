import { connect, nanos, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamClient } from "@nats-io/jetstream";
import { errorMessage } from "../errors/index.js";
import type { Logger } from "../log/index.js";
import { EventBusOptionError, EventStreamError, NatsUnavailableError } from "./errors.js";
import { eventIdOf } from "./ids.js";
import { ALL_EVENTS_SUBJECT, eventSubject, subjectMatches } from "./subjects.js";
import type { EventBus, EventBusOptions, EventHandler, EventInput, EventSubscription, MedfclEvent } from "./types.js";

export const DEFAULT_EVENT_STREAM = "MEDFCL_EVENTS";
const DAY_MS = 24 * 60 * 60 * 1000;

export type ResolvedEventBusOptions = Required<Omit<EventBusOptions, "natsUrl" | "sink">> & Pick<EventBusOptions, "natsUrl" | "sink">;

export function defaultEventBusOptions(): Omit<ResolvedEventBusOptions, "logger"> {
  return {
    stream: DEFAULT_EVENT_STREAM,
    maxAgeMs: 30 * DAY_MS,
    publishTimeoutMs: 2000,
    connectTimeoutMs: 5000,
    name: "medfcl",
  };
}

function positive(option: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new EventBusOptionError(option, `expected a positive number of milliseconds, got ${value}`);
  return value;
}

export function parseEventBusOptions(options: EventBusOptions): ResolvedEventBusOptions {
  const merged = { ...defaultEventBusOptions(), ...stripUndefined(options) } as ResolvedEventBusOptions;
  // Stream names become API subject tokens on the server, so the same characters break them.
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(merged.stream)) {
    throw new EventBusOptionError("stream", `"${merged.stream}" must be 1-64 letters, digits, '_' or '-'`);
  }
  if (merged.natsUrl !== undefined) {
    if (merged.natsUrl.trim() === "") throw new EventBusOptionError("natsUrl", "is empty; leave it out to run without NATS");
    if (/\s/.test(merged.natsUrl)) throw new EventBusOptionError("natsUrl", `"${merged.natsUrl}" contains whitespace`);
  }
  positive("maxAgeMs", merged.maxAgeMs);
  positive("publishTimeoutMs", merged.publishTimeoutMs);
  positive("connectTimeoutMs", merged.connectTimeoutMs);
  return merged;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Rejects subject filters NATS would refuse or read differently (empty tokens, `>` in the middle, spaces). */
export function assertSubjectFilter(filter: string): void {
  const tokens = filter.split(".");
  const bad = tokens.some((t, i) => t === "" || /\s/.test(t) || (t === ">" && i !== tokens.length - 1) || (t.length > 1 && /[*>]/.test(t)));
  if (bad) throw new EventBusOptionError("subjectFilter", `"${filter}" is not a valid NATS subject filter`);
}

/** Heartbeats and progress come every few seconds per site; they stay at debug so info logs stay readable. */
function logLevelFor(event: MedfclEvent): "debug" | "info" | "warn" {
  switch (event.type) {
    case "site.heartbeat":
    case "site.progress":
      return "debug";
    case "run.failed":
    case "run.paused":
    case "update.rejected":
    case "site.dropout":
    case "exemplar.refused":
      return "warn";
    default:
      return "info";
  }
}

function withTime(input: EventInput): MedfclEvent {
  return { ...input, id: input.id ?? eventIdOf(input), at: input.at ?? new Date().toISOString() } as MedfclEvent;
}

class LocalSubscriptions {
  readonly #subs = new Set<{ filter: string; handler: EventHandler }>();

  add(filter: string, handler: EventHandler): EventSubscription {
    const entry = { filter, handler };
    this.#subs.add(entry);
    return { unsubscribe: () => void this.#subs.delete(entry) };
  }

  dispatch(event: MedfclEvent, subject: string, logger: Logger): void {
    for (const { filter, handler } of this.#subs) {
      if (!subjectMatches(filter, subject)) continue;
      try {
        handler(event, subject);
      } catch (err) {
        logger.warn({ err: errorMessage(err), subject }, "event subscriber threw; ignored");
      }
    }
  }

  clear(): void {
    this.#subs.clear();
  }
}

class NatsEventBus implements EventBus {
  readonly #opts: ResolvedEventBusOptions;
  readonly #logger: Logger;
  readonly #local = new LocalSubscriptions();
  readonly #nc: NatsConnection | null;
  readonly #js: JetStreamClient | null;
  readonly #natsSubs = new Set<Subscription>();
  #up: boolean;
  #failing = false;
  #closed = false;

  constructor(opts: ResolvedEventBusOptions, nc: NatsConnection | null) {
    this.#opts = opts;
    this.#logger = opts.logger;
    this.#nc = nc;
    this.#js = nc ? jetstream(nc, { timeout: opts.publishTimeoutMs }) : null;
    this.#up = nc !== null;
    if (nc) void this.#watchStatus(nc);
  }

  get connected(): boolean {
    return this.#nc !== null && this.#up && !this.#nc.isClosed();
  }

  get stream(): string | null {
    return this.#nc ? this.#opts.stream : null;
  }

  async #watchStatus(nc: NatsConnection): Promise<void> {
    try {
      for await (const s of nc.status()) {
        if (s.type === "disconnect") {
          this.#up = false;
          this.#logger.warn({ url: this.#opts.natsUrl }, "NATS disconnected; events go to the log and sink until it reconnects");
        } else if (s.type === "reconnect") {
          this.#up = true;
          this.#logger.info({ url: this.#opts.natsUrl }, "NATS reconnected");
        }
      }
    } catch (err) {
      this.#logger.debug({ err: errorMessage(err) }, "NATS status stream ended");
    }
  }

  async publish(input: EventInput): Promise<void> {
    let event: MedfclEvent;
    let subject: string;
    try {
      event = withTime(input);
      subject = eventSubject(event);
    } catch (err) {
      this.#logger.error({ err: errorMessage(err), type: (input as { type?: unknown }).type }, "event could not be built; dropped");
      return;
    }
    this.#logger[logLevelFor(event)]({ subject, event }, `event ${event.type}`);
    if (this.#opts.sink) {
      try {
        this.#opts.sink(event);
      } catch (err) {
        this.#logger.error({ err: errorMessage(err), subject }, "event sink threw; the event still goes to NATS");
      }
    }
    if (!this.#js) {
      this.#local.dispatch(event, subject, this.#logger);
      return;
    }
    if (this.#closed || !this.connected) {
      this.#logger.debug({ subject }, "NATS is not connected; event kept in the log and sink only");
      return;
    }
    try {
      // The event's id as Nats-Msg-Id: JetStream keeps one copy of a transition published twice within its duplicate window.
      await this.#js.publish(subject, JSON.stringify(event), { timeout: this.#opts.publishTimeoutMs, msgID: event.id });
      if (this.#failing) {
        this.#failing = false;
        this.#logger.info({ subject }, "publishing events to NATS works again");
      }
    } catch (err) {
      // One warning per failure streak: a NATS outage must not drown the log or stop the run.
      this.#logger[this.#failing ? "debug" : "warn"]({ err: errorMessage(err), subject, url: this.#opts.natsUrl }, "event publish to NATS failed; continuing");
      this.#failing = true;
    }
  }

  async subscribe(subjectFilter: string, handler: EventHandler): Promise<EventSubscription> {
    assertSubjectFilter(subjectFilter);
    if (!this.#nc) return this.#local.add(subjectFilter, handler);
    const logger = this.#logger;
    const sub = this.#nc.subscribe(subjectFilter, {
      callback: (err, msg) => {
        if (err) {
          logger.warn({ err: errorMessage(err), subjectFilter }, "event subscription error");
          return;
        }
        try {
          handler(msg.json<MedfclEvent>(), msg.subject);
        } catch (e) {
          logger.warn({ err: errorMessage(e), subject: msg.subject }, "event subscriber threw; ignored");
        }
      },
    });
    this.#natsSubs.add(sub);
    await this.#nc.flush();
    return {
      unsubscribe: () => {
        this.#natsSubs.delete(sub);
        sub.unsubscribe();
      },
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#local.clear();
    const nc = this.#nc;
    if (!nc || nc.isClosed()) return;
    // Draining flushes pending publishes, which only helps while the server is reachable; bounded
    // so that shutting down never waits on a server that went away.
    if (this.#up) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), this.#opts.publishTimeoutMs)));
      try {
        const how = await Promise.race([nc.drain().then(() => "drained" as const), timeout]);
        if (how === "drained") return;
        this.#logger.debug("NATS drain timed out; closing");
      } catch (err) {
        this.#logger.debug({ err: errorMessage(err) }, "NATS drain failed; closing");
      } finally {
        clearTimeout(timer);
      }
    }
    await nc.close().catch(() => undefined);
  }
}

async function ensureStream(nc: NatsConnection, opts: ResolvedEventBusOptions): Promise<"created" | "updated"> {
  const url = opts.natsUrl ?? "";
  let jsm;
  try {
    jsm = await jetstreamManager(nc, { timeout: opts.connectTimeoutMs });
  } catch (err) {
    throw new EventStreamError(url, opts.stream, `JetStream is not available (${errorMessage(err)})`, { cause: err });
  }
  const config = {
    subjects: [ALL_EVENTS_SUBJECT],
    max_age: nanos(opts.maxAgeMs),
    description: "medfcl run, step and site events",
  };
  try {
    const exists = await jsm.streams
      .info(opts.stream)
      .then(() => true)
      .catch((err: unknown) => {
        if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return false;
        throw err;
      });
    if (exists) {
      await jsm.streams.update(opts.stream, config);
      return "updated";
    }
    await jsm.streams.add({ name: opts.stream, storage: StorageType.File, retention: RetentionPolicy.Limits, ...config });
    return "created";
  } catch (err) {
    throw new EventStreamError(url, opts.stream, errorMessage(err), { cause: err });
  }
}

/**
 * The event bus of a coordinator. With `natsUrl` it connects (failing clearly if the server is
 * unreachable), makes sure the durable stream exists, and publishes with JetStream acks; without
 * it events go only to the logger and the sink. Publishing never throws either way.
 */
export async function createEventBus(options: EventBusOptions): Promise<EventBus> {
  const opts = parseEventBusOptions(options);
  const logger = opts.logger;
  if (opts.natsUrl === undefined) {
    logger.info("NATS is off (no --nats): events go only to the log and SQLite");
    return new NatsEventBus(opts, null);
  }
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: opts.natsUrl,
      name: opts.name,
      timeout: opts.connectTimeoutMs,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
    });
  } catch (err) {
    throw new NatsUnavailableError(opts.natsUrl, errorMessage(err), { cause: err });
  }
  try {
    const how = await ensureStream(nc, opts);
    logger.info({ url: opts.natsUrl, stream: opts.stream, how }, `publishing events to NATS at ${opts.natsUrl}, stream ${opts.stream} ${how}`);
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw err;
  }
  return new NatsEventBus(opts, nc);
}
