import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream, type Consumer, type JsMsg } from "@nats-io/jetstream";
import { errorMessage } from "../errors/index.js";
import type { DomainEvaluation } from "../evaluation/index.js";
import type { Logger } from "../log/index.js";
import { EVAL_JOBS_STREAM, EVAL_RESULTS_SUBJECT, EVAL_WORKERS_CONSUMER, parseEvalJob, type EvalJob, type EvalResult } from "./queue.js";

export interface EvalWorkerOptions {
  nc: NatsConnection;
  /** Names the worker in results and logs (host name, pod name, "coordinator"). */
  name: string;
  logger: Logger;
  /** Whether this worker holds the test set of a domain; a job it cannot do goes back to the queue for another worker. */
  hasDomain(domain: string): boolean;
  /** The checkpoint bytes of a model version (over gRPC for an external worker). */
  fetchModel(version: string): Promise<Buffer>;
  /** COCO evaluation of the checkpoint on the domain's test set (the same code everywhere). */
  evaluate(checkpoint: Buffer, domain: string): Promise<DomainEvaluation>;
  signal: AbortSignal;
  /** Called when a job starts (tests use it to kill a worker mid-job). */
  onJobStarted?(job: EvalJob, deliveryCount: number): void;
  /** Called at least every 5 s while the worker's loop runs (idle or evaluating): a liveness signal. */
  onAlive?(): void;
}

/** Redelivery after a nak: soon, but not in a tight loop. */
const NAK_DELAY_MS = 1000;

function whenAborted(signal: AbortSignal): Promise<null> {
  return new Promise((resolve) => (signal.aborted ? resolve(null) : signal.addEventListener("abort", () => resolve(null), { once: true })));
}

/**
 * Pulls evaluation jobs one at a time until `signal` aborts. Each job is acknowledged only after
 * its result was stored by JetStream, so a worker that dies mid-job loses nothing: the job comes
 * back after AckWait. While it evaluates it sends in-progress acks every third of AckWait. A job
 * that fails on its last allowed delivery is answered with a failed result and the reason.
 */
export async function runEvalWorker(opts: EvalWorkerOptions): Promise<{ jobs: number }> {
  // JetStream API calls get 30 s, not the client's 5 s: a busy worker host must not fail its setup.
  const js = jetstream(opts.nc, { timeout: 30_000 });
  const consumer: Consumer = await js.consumers.get(EVAL_JOBS_STREAM, EVAL_WORKERS_CONSUMER);
  const info = await consumer.info();
  const ackWaitMs = Math.max(1000, Math.round(Number(info.config.ack_wait ?? 30e9) / 1e6));
  const maxDeliver = Number(info.config.max_deliver ?? -1);
  const log = opts.logger;
  log.info({ worker: opts.name, ackWaitMs, maxDeliver }, "eval worker waiting for jobs");
  const aborted = whenAborted(opts.signal);
  let jobs = 0;
  let cached: { version: string; bytes: Buffer } | null = null;

  const publish = async (result: EvalResult): Promise<void> => {
    await js.publish(EVAL_RESULTS_SUBJECT, JSON.stringify(result), { timeout: 10_000 });
  };

  const handle = async (msg: JsMsg): Promise<void> => {
    const deliveries = msg.info.deliveryCount;
    const lastTry = maxDeliver > 0 && deliveries >= maxDeliver;
    let job: EvalJob;
    try {
      job = parseEvalJob(msg.data, `#${msg.seq}`);
    } catch (err) {
      // A malformed job never succeeds: it is dropped, not retried.
      log.error({ seq: msg.seq, err: errorMessage(err) }, "malformed eval job dropped");
      msg.term(errorMessage(err));
      return;
    }
    const cell = { runId: job.runId, step: job.step, domain: job.domain, version: job.version.slice(0, 12), deliveries };
    if (!opts.hasDomain(job.domain)) {
      if (!lastTry) {
        log.debug(cell, "no test set for this domain here; the job goes back to the queue");
        msg.nak(NAK_DELAY_MS);
        return;
      }
      await publish({ ok: false, version: job.version, domain: job.domain, worker: opts.name, reason: `no eval worker holds a test set for domain "${job.domain}" (give one --eval-set ${job.domain}=DIR)` });
      await msg.ackAck();
      return;
    }
    const keepAlive = setInterval(() => {
      msg.working();
      opts.onAlive?.();
    }, Math.max(500, Math.min(5000, Math.floor(ackWaitMs / 3))));
    try {
      opts.onJobStarted?.(job, deliveries);
      log.info(cell, "evaluating");
      const started = Date.now();
      if (cached?.version !== job.version) cached = { version: job.version, bytes: await opts.fetchModel(job.version) };
      const evaluation = await opts.evaluate(cached.bytes, job.domain);
      await publish({ ok: true, version: job.version, domain: job.domain, worker: opts.name, evaluation });
      await msg.ackAck();
      jobs++;
      log.info({ ...cell, ap: evaluation.ap, ms: Date.now() - started }, "evaluated");
    } catch (err) {
      if (!lastTry) {
        log.warn({ ...cell, err: errorMessage(err) }, "evaluation failed; the job goes back to the queue");
        msg.nak(NAK_DELAY_MS);
        return;
      }
      log.error({ ...cell, err: errorMessage(err) }, "evaluation failed on the last delivery; the cell is reported as failed");
      await publish({ ok: false, version: job.version, domain: job.domain, worker: opts.name, reason: `evaluation failed after ${deliveries} deliveries: ${errorMessage(err)}` });
      await msg.ackAck();
    } finally {
      clearInterval(keepAlive);
    }
  };

  while (!opts.signal.aborted) {
    opts.onAlive?.();
    let msg: JsMsg | null;
    try {
      msg = await Promise.race([consumer.next({ expires: 5000 }), aborted]);
    } catch (err) {
      if (opts.signal.aborted) break;
      log.warn({ err: errorMessage(err) }, "pulling an eval job failed; retrying");
      await Promise.race([new Promise((r) => setTimeout(r, 1000)), aborted]);
      continue;
    }
    if (!msg) continue;
    if (opts.signal.aborted) {
      // Stopping: hand the job straight back rather than let it wait out AckWait.
      msg.nak();
      break;
    }
    await handle(msg).catch((err: unknown) => log.error({ seq: msg.seq, err: errorMessage(err) }, "eval job could not be answered; it is redelivered after AckWait"));
  }
  return { jobs };
}
