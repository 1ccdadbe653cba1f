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
    const t = new OrtWorkerTrainer(spawnWorker());
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

  async close(): Promise<void> {
    this.#dead ??= new OrtTrainError("the ort trainer is closed");
    await this.#worker.terminate();
  }
}
