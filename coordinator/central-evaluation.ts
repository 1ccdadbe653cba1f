import { jetstream, jetstreamManager, type ConsumerMessages } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { CoordinatorConfig } from "../services/config/index.js";
import { errorMessage } from "../services/errors/index.js";
import {
  connectEvalQueue,
  ensureEvalQueue,
  EVAL_JOBS_STREAM,
  EVAL_JOBS_SUBJECT,
  EVAL_RESULTS_CONSUMER,
  EVAL_RESULTS_STREAM,
  maxDeliveriesAdvisorySubject,
  parseEvalJob,
  parseEvalResult,
  runEvalWorker,
  type EvalJob,
} from "../services/eval-queue/index.js";
import type { Logger } from "../services/log/index.js";
import type { BlobStore } from "../services/store/index.js";
import type { DomainEvaluation, EvalSet, ModelOps } from "./model-ops.js";
import * as store from "./store/index.js";

/** One model version's central evaluation: the cells that have numbers, and those that stay empty with why. */
export interface CentralResults {
  results: DomainEvaluation[];
  failed: { domain: string; reason: string }[];
}

/**
 * Where the coordinator's central evaluation runs. Without NATS: inside the coordinator, as before.
 * With NATS: as jobs on the JetStream work queue, answered by the coordinator's own in-process
 * worker (unless coordinator.evalWorkers is "external") and by any `medfcl eval-worker`.
 */
export interface CentralEvaluator {
  readonly mode: "in-process" | "queue";
  evaluate(job: Omit<EvalJob, "domain">, sets: EvalSet[]): Promise<CentralResults>;
  close(): Promise<void>;
}

interface Parts {
  db: store.Db;
  blobs: BlobStore;
  config: CoordinatorConfig;
  logger: Logger;
  models: ModelOps;
  signal: AbortSignal;
}

function inProcessEvaluator(p: Parts): CentralEvaluator {
  return {
    mode: "in-process",
    async evaluate(job, sets) {
      if (sets.length === 0) return { results: [], failed: [] };
      return { results: await p.models.evaluate(p.blobs.get(job.version), sets), failed: [] };
    },
    close: () => Promise.resolve(),
  };
}

/** Waiters on (version, domain) answers, woken when a result or a max-deliveries advisory arrives. */
class Answers {
  readonly #waiters = new Set<() => void>();

  wake(): void {
    for (const w of this.#waiters) w();
  }

  /** Resolves at the next answer, after `ms`, or on abort, whichever is first. */
  next(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }
}

async function queueEvaluator(p: Parts, natsUrl: string): Promise<CentralEvaluator> {
  const log = p.logger.child({ component: "eval-queue" });
  const nc: NatsConnection = await connectEvalQueue(natsUrl, "medfcl-coordinator-eval");
  try {
    await ensureEvalQueue(nc, p.config.evalQueue);
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw err;
  }
  const js = jetstream(nc, { timeout: 30_000 });
  const jsm = await jetstreamManager(nc, { timeout: 30_000 });
  const answers = new Answers();

  // Results: stored once per (version, domain), then acknowledged; a duplicate (a redelivered job
  // answered twice) is acknowledged and changes nothing.
  const consumer = await js.consumers.get(EVAL_RESULTS_STREAM, EVAL_RESULTS_CONSUMER);
  const results: ConsumerMessages = await consumer.consume({ max_messages: 64 });
  const reading = (async () => {
    for await (const m of results) {
      try {
        const r = parseEvalResult(m.data, `#${m.seq}`);
        const stored = store.recordCentralEvaluation(p.db, r);
        log[stored ? "debug" : "info"]({ version: r.version.slice(0, 12), domain: r.domain, worker: r.worker, ok: r.ok }, stored ? "eval result stored" : "duplicate eval result ignored (the first one stands)");
        answers.wake();
      } catch (err) {
        log.error({ seq: m.seq, err: errorMessage(err) }, "eval result dropped");
      }
      m.ack();
    }
  })();

  // A job that reached MaxDeliver without an ack: its cell fails with the reason, and the job leaves the stream.
  const advisories: Subscription = nc.subscribe(maxDeliveriesAdvisorySubject(), {
    callback: (err, msg) => {
      if (err) return;
      void (async () => {
        const adv = msg.json<{ stream_seq: number; deliveries: number }>();
        const stored = await jsm.streams.getMessage(EVAL_JOBS_STREAM, { seq: adv.stream_seq });
        if (!stored) return;
        const job = parseEvalJob(stored.data, `#${adv.stream_seq}`);
        const reason = `no eval worker acknowledged the job in ${adv.deliveries} deliveries of ${p.config.evalQueue.ackWaitMs} ms each (workers died or were too slow; raise coordinator.evalQueue.ackWaitMs or .maxDeliver)`;
        store.recordCentralEvaluation(p.db, { ok: false, version: job.version, domain: job.domain, worker: "jetstream", reason });
        await jsm.streams.deleteMessage(EVAL_JOBS_STREAM, adv.stream_seq);
        log.warn({ version: job.version.slice(0, 12), domain: job.domain, deliveries: adv.deliveries }, "eval job given up after MaxDeliver");
        answers.wake();
      })().catch((e: unknown) => log.error({ err: errorMessage(e) }, "max-deliveries advisory not handled"));
    },
  });

  const stopWorker = new AbortController();
  p.signal.addEventListener("abort", () => stopWorker.abort(), { once: true });
  const worker =
    p.config.evalWorkers === "in-process"
      ? runEvalWorker({
          nc,
          name: "coordinator",
          logger: log,
          hasDomain: (d) => d in p.config.evalSets,
          fetchModel: (v) => Promise.resolve(p.blobs.get(v)),
          evaluate: async (checkpoint, domain) => (await p.models.evaluate(checkpoint, [{ domain, dir: p.config.evalSets[domain] }]))[0],
          signal: stopWorker.signal,
        }).catch((err: unknown) => log.error({ err: errorMessage(err) }, "the coordinator's in-process eval worker stopped"))
      : Promise.resolve();
  log.info({ url: natsUrl, stream: EVAL_JOBS_STREAM, workers: p.config.evalWorkers, ...p.config.evalQueue }, "central evaluation runs on the JetStream work queue");

  return {
    mode: "queue",
    async evaluate(job, sets) {
      const missing = (): EvalSet[] => sets.filter((s) => !store.getCentralEvaluation(p.db, job.version, s.domain));
      for (const s of sets) store.clearCentralFailure(p.db, job.version, s.domain);
      for (const s of missing()) await js.publish(EVAL_JOBS_SUBJECT, JSON.stringify({ ...job, domain: s.domain } satisfies EvalJob));
      let waitingSince = Date.now();
      for (let left = missing(); left.length > 0 && !p.signal.aborted; left = missing()) {
        if (p.config.evalWorkers === "external" && Date.now() - waitingSince > 60_000) {
          log.warn({ version: job.version.slice(0, 12), domains: left.map((s) => s.domain) }, "still waiting for eval workers (coordinator.evalWorkers is external: start `medfcl eval-worker`)");
          waitingSince = Date.now();
        }
        await answers.next(1000, p.signal);
      }
      const out: CentralResults = { results: [], failed: [] };
      for (const s of sets) {
        const e = store.getCentralEvaluation(p.db, job.version, s.domain);
        if (e?.ok) out.results.push({ ...e.evaluation, domain: s.domain });
        else out.failed.push({ domain: s.domain, reason: e ? e.reason : "the coordinator stopped before the evaluation came back" });
      }
      return out;
    },
    async close() {
      stopWorker.abort();
      await worker;
      advisories.unsubscribe();
      await results.close().catch(() => undefined);
      await reading.catch(() => undefined);
      await nc.drain().catch(() => nc.close());
    },
  };
}

export async function startCentralEvaluator(p: Parts): Promise<CentralEvaluator> {
  return p.config.nats ? queueEvaluator(p, p.config.nats) : inProcessEvaluator(p);
}
