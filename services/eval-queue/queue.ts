import { connect, nanos, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager } from "@nats-io/jetstream";
import { z } from "zod";
import { ErrorCode, MedfclError, errorMessage } from "../errors/index.js";
import type { DomainEvaluation } from "../evaluation/index.js";

/**
 * Central evaluation as JetStream work (DESIGN.md, "Evaluation workers"): the coordinator publishes
 * one job per (model version, domain) to a work-queue stream; one durable pull consumer is shared by
 * every worker (the coordinator's in-process one and any `medfcl eval-worker`); results come back on
 * a second work-queue stream that only the coordinator consumes. Jobs and results carry names and
 * COCO statistics, never model bytes: workers fetch models over gRPC.
 *
 * The subjects sit outside `medfcl.>`, which the event stream captures (streams may not overlap).
 */
export const EVAL_JOBS_STREAM = "MEDFCL_EVAL_JOBS";
export const EVAL_RESULTS_STREAM = "MEDFCL_EVAL_RESULTS";
export const EVAL_JOBS_SUBJECT = "medfcl-eval.jobs";
export const EVAL_RESULTS_SUBJECT = "medfcl-eval.results";
/** The one durable consumer all workers pull jobs from. */
export const EVAL_WORKERS_CONSUMER = "eval-workers";
/** The coordinator's durable consumer of results. */
export const EVAL_RESULTS_CONSUMER = "coordinator";

/** The advisory the server publishes when a job reached MaxDeliver without an ack. */
export function maxDeliveriesAdvisorySubject(): string {
  return `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${EVAL_JOBS_STREAM}.${EVAL_WORKERS_CONSUMER}`;
}

export interface EvalQueueSettings {
  /** A job not acknowledged within this is redelivered; workers send in-progress acks meanwhile. */
  ackWaitMs: number;
  /** Deliveries of one job before it is given up and reported as a failed cell. */
  maxDeliver: number;
}

export const evalJobSchema = z
  .object({
    runId: z.string().min(1),
    step: z.number().int().min(-1),
    version: z.string().regex(/^[0-9a-f]{64}$/, "a model version is a sha256 in hex"),
    domain: z.string().min(1),
  })
  .strict();
export type EvalJob = z.infer<typeof evalJobSchema>;

const evaluationSchema = z.object({
  domain: z.string(),
  ap: z.number(),
  ap50: z.number(),
  stats: z.array(z.number()),
  perCategoryAp: z.record(z.number()),
});

export const evalResultSchema = z.discriminatedUnion("ok", [
  z.object({ ok: z.literal(true), version: z.string(), domain: z.string(), worker: z.string(), evaluation: evaluationSchema }).strict(),
  z.object({ ok: z.literal(false), version: z.string(), domain: z.string(), worker: z.string(), reason: z.string() }).strict(),
]);
/** What a worker publishes for a job: the COCO numbers, or why the cell stays empty. */
export type EvalResult = { version: string; domain: string; worker: string } & ({ ok: true; evaluation: DomainEvaluation } | { ok: false; reason: string });

function parseMessage<T>(schema: z.ZodType<T>, data: Uint8Array, what: string, where: string): T {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(data).toString("utf8"));
  } catch (err) {
    throw new MedfclError(ErrorCode.InvalidArgument, `${what} ${where} is not JSON: ${errorMessage(err)}`, { details: { message: where } });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MedfclError(ErrorCode.InvalidArgument, `${what} ${where}: field "${issue.path.join(".")}" ${issue.message}`, { details: { message: where, field: issue.path.join(".") } });
  }
  return parsed.data;
}

/** A job from its message bytes; a clear InvalidArgument naming the field otherwise. */
export function parseEvalJob(data: Uint8Array, where: string): EvalJob {
  return parseMessage(evalJobSchema, data, "eval job", where);
}

export function parseEvalResult(data: Uint8Array, where: string): EvalResult {
  return parseMessage(evalResultSchema, data, "eval result", where) as EvalResult;
}

/** Connects to NATS for the evaluation queue; a clear UNAVAILABLE naming the URL when it cannot. */
export async function connectEvalQueue(url: string, name: string): Promise<NatsConnection> {
  try {
    return await connect({ servers: url, name, timeout: 5000, maxReconnectAttempts: -1, reconnectTimeWait: 1000 });
  } catch (err) {
    throw new MedfclError(ErrorCode.Unavailable, `cannot reach NATS at ${url} for the evaluation queue: ${errorMessage(err)}; start nats-server with JetStream (-js) or leave out --nats`, {
      cause: err,
      details: { nats: url },
    });
  }
}

async function exists(probe: () => Promise<unknown>, notFound: number): Promise<boolean> {
  return probe().then(
    () => true,
    (err: unknown) => {
      if (err instanceof JetStreamApiError && err.code === notFound) return false;
      throw err;
    },
  );
}

/**
 * Creates (or brings to `settings`) the two work-queue streams and their durable consumers. The
 * coordinator calls it; a worker only binds to what exists.
 */
export async function ensureEvalQueue(nc: NatsConnection, settings: EvalQueueSettings): Promise<void> {
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc, { timeout: 5000 });
  } catch (err) {
    throw new MedfclError(ErrorCode.Unavailable, `JetStream is not available for the evaluation queue (${errorMessage(err)}); run nats-server with -js`, { cause: err });
  }
  for (const [stream, subject, description] of [
    [EVAL_JOBS_STREAM, EVAL_JOBS_SUBJECT, "medfcl central evaluation jobs (run, model version, domain)"],
    [EVAL_RESULTS_STREAM, EVAL_RESULTS_SUBJECT, "medfcl central evaluation results (COCO statistics)"],
  ] as const) {
    if (!(await exists(() => jsm.streams.info(stream), JetStreamApiCodes.StreamNotFound))) {
      await jsm.streams.add({ name: stream, subjects: [subject], retention: RetentionPolicy.Workqueue, storage: StorageType.File, description });
    }
  }
  const consumers = [
    { stream: EVAL_JOBS_STREAM, durable: EVAL_WORKERS_CONSUMER, ackWait: settings.ackWaitMs, maxDeliver: settings.maxDeliver },
    // Results are small and written at once; redelivery only covers a coordinator that died mid-write.
    { stream: EVAL_RESULTS_STREAM, durable: EVAL_RESULTS_CONSUMER, ackWait: 30_000, maxDeliver: -1 },
  ];
  for (const c of consumers) {
    const tuning = { ack_wait: nanos(c.ackWait), max_deliver: c.maxDeliver };
    if (await exists(() => jsm.consumers.info(c.stream, c.durable), JetStreamApiCodes.ConsumerNotFound)) await jsm.consumers.update(c.stream, c.durable, tuning);
    else await jsm.consumers.add(c.stream, { durable_name: c.durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ...tuning });
  }
}
