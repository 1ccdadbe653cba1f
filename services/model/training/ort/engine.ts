import { Worker } from "node:worker_threads";
import type { TensorMap } from "../../../tensors/index.js";
import { MedfclError, type ErrorCode } from "../../../errors/index.js";
import type { TrainBatch } from "../schedule.js";
import type { ModelConfig } from "../../core/types.js";
import { OrtTrainError } from "../../core/errors.js";
import type { FromWorker, ToWorker, WorkerErrorData, WorkerTrainOptions } from "./protocol.js";
import type { SessionOptions } from "./runtime.js";
import type { StepResult } from "./stepper.js";

function spawnWorker(): Worker {
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./worker.js", import.meta.url));
  // Under tsx (tests, `npx tsx cli/main.ts`) this module and its sibling are .ts: the worker first
  // registers tsx's loader itself (a worker's entry is resolved before any --import hook applies).
  const entry = new URL("./worker.ts", import.meta.url).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  return new Worker(`import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`, { eval: true });
}

/**
 * The worker of the last closed trainer, kept for the next one: a fresh worker loads onnxruntime and
 * the model code again (about 1.5 s under tsx, a large share of a short federated task). Only one
 * is kept, unref'd so it never holds the process open, and ended before a natural exit.
 */
let idleWorker: Worker | null = null;

function takeWorker(): Worker {
  const w = idleWorker;
  if (!w) return spawnWorker();
  idleWorker = null;
  w.removeAllListeners("exit");
  w.removeAllListeners("error");
  w.ref();
  return w;
}

function parkWorker(w: Worker): void {
  if (idleWorker) {
    void w.terminate();
    return;
  }
  idleWorker = w;
  w.unref();
  const drop = (): void => {
    if (idleWorker === w) idleWorker = null;
  };
  w.once("exit", drop);
  // Nobody waits on an idle worker: a failure just means the next trainer spawns a fresh one.
  w.on("error", () => {
    drop();
    void w.terminate();
  });
}

// A worker that still holds onnxruntime when the process tears down can crash the exit: end the
// idle one first (its exit lets the loop drain, and beforeExit fires again with none left).
process.on("beforeExit", () => {
  const w = idleWorker;
  idleWorker = null;
  if (w) void w.terminate();
});

function revive(e: WorkerErrorData): Error {
  if (e.code) return new MedfclError(e.code as ErrorCode, e.message, { details: e.details });
  return new OrtTrainError(`${e.name}: ${e.message}`);
}

/**
 * The onnxruntime trainer on a worker thread (see worker.ts). `step` resolves with the step's
 * losses; aborting `signal` during a step terminates the worker at once (the weights trained so
 * far are then lost, as cancelled training discards them anyway).
 */
export class OrtWorkerTrainer {
  #worker: Worker;
  #pending = new Map<number, { resolve: (m: FromWorker) => void; reject: (e: Error) => void }>();
  #next = 0;
  #dead: Error | null = null;
  #closed = false;
  #busyMs = 0;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on("message", (m: FromWorker) => {
      const id = m.type === "ready" ? -1 : m.id;
      const p = this.#pending.get(id);
      if (!p) return;
      this.#pending.delete(id);
      if (m.type === "error") p.reject(revive(m.error));
      else {
        if (m.type === "step") this.#busyMs += m.busyMs;
        p.resolve(m);
      }
    });
    const fail = (err: Error) => {
      this.#dead ??= err;
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
    worker.on("error", (err) => fail(new OrtTrainError(`the ort training worker failed: ${err.message}`, { cause: err })));
    worker.on("exit", (code) => fail(new OrtTrainError(`the ort training worker exited (code ${code})`)));
  }

  static async start(cfg: ModelConfig, weights: TensorMap, opts: WorkerTrainOptions, session: SessionOptions = {}): Promise<OrtWorkerTrainer> {
    const t = new OrtWorkerTrainer(takeWorker());
    const plain: WorkerTrainOptions = { batchSize: opts.batchSize, lr: opts.lr, textLr: opts.textLr, weightDecay: opts.weightDecay, freezeStages: opts.freezeStages, gradClip: opts.gradClip, seed: opts.seed, warmupSteps: opts.warmupSteps, emaDecay: opts.emaDecay };
    try {
      await t.#call(-1, { type: "init", cfg, weights, opts: plain, session });
    } catch (err) {
      await t.close();
      throw err;
    }
    return t;
  }

  #call(id: number, msg: ToWorker): Promise<FromWorker> {
    if (this.#dead) return Promise.reject(this.#dead);
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage(msg);
    });
  }

  async step(batch: TrainBatch, totalSteps: number, signal?: AbortSignal): Promise<StepResult> {
    signal?.throwIfAborted();
    const id = this.#next++;
    const done = this.#call(id, { type: "step", id, batch, totalSteps });
    if (!signal) return ((await done) as Extract<FromWorker, { type: "step" }>).result;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        reject(signal.reason ?? new OrtTrainError("training was aborted"));
        void this.#worker.terminate();
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return ((await Promise.race([done, aborted])) as Extract<FromWorker, { type: "step" }>).result;
    } finally {
      signal.removeEventListener("abort", onAbort!);
      done.catch(() => {});
    }
  }

  async getWeights(): Promise<TensorMap> {
    const id = this.#next++;
    return ((await this.#call(id, { type: "weights", id })) as Extract<FromWorker, { type: "weights" }>).weights;
  }

  /** Milliseconds the worker has spent inside steps so far (the rest of the wall time it waited). */
  get busyMs(): number {
    return this.#busyMs;
  }

  /** The worker's thread id (a test checks that a closed trainer's worker serves the next one). */
  get threadId(): number {
    return this.#worker.threadId;
  }

  /**
   * Ends this trainer. A worker with nothing in flight is reset (its sessions released) and kept
   * for the next trainer; one that failed, was aborted or still has a step queued is terminated.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    let reusable = !this.#dead && this.#pending.size === 0;
    if (reusable) {
      const id = this.#next++;
      reusable = await this.#call(id, { type: "reset", id }).then(
        () => true,
        () => false,
      );
    }
    this.#dead ??= new OrtTrainError("the ort trainer is closed");
    const w = this.#worker;
    w.removeAllListeners("message");
    w.removeAllListeners("error");
    w.removeAllListeners("exit");
    if (reusable) parkWorker(w);
    else await w.terminate();
  }
}
