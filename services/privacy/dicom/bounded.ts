/**
 * Time and memory budgets for DICOM decoding. dcmjs and the pixel decoders run on whatever a file
 * declares; some valid vendor files make them spin for minutes or grow without bound. Every decode
 * in the privacy pipeline runs in a worker thread with V8 heap limits and a wall-clock timeout:
 * over either, the worker is terminated and the file is refused with a message, never a hang.
 */
import { Worker } from "node:worker_threads";
import { ErrorCode, MedfclError } from "../../errors/index.js";
import { DicomError } from "../errors.js";
import type { RgbImage } from "../pixels.js";
import type { DeidentifyOptions } from "./deidentify.js";

export interface DicomBudget {
  /** Wall-clock limit per file. */
  timeoutMs: number;
  /** V8 old-generation heap limit of the worker, MiB (ArrayBuffers count separately, bounded by the file). */
  heapMb: number;
}

/** A generous budget for one file: real CT/MR/RT objects de-identify in well under a second. */
export const DEFAULT_DICOM_BUDGET: DicomBudget = { timeoutMs: 20_000, heapMb: 512 };

export type DicomJob = { op: "deidentify" | "render"; bytes: Uint8Array; options: DeidentifyOptions; path: string };
/** `notes`: what the decoder said about the file while reading it (odd VRs and the like); not errors. */
export type DicomJobResult =
  | { op: "deidentify"; bytes: Uint8Array; removed: string[]; uids: number; notes: string[] }
  | { op: "render"; image: RgbImage; removed: string[]; uids: number; notes: string[] };

/** A DICOM file that exceeded its budget; refused like any other unreadable file. */
export class DicomBudgetError extends DicomError {}

const workerUrl = new URL(import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js", import.meta.url);

/**
 * From source the worker is TypeScript: it is started through tsx's API (a devDependency), since
 * `--import tsx` does not reach worker threads on Node 20. The built package runs the compiled
 * worker directly.
 */
function startWorker(options: ConstructorParameters<typeof Worker>[1]): Worker {
  if (!workerUrl.pathname.endsWith(".ts")) return new Worker(workerUrl, options);
  const boot = `import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(workerUrl.href)}); })`;
  return new Worker(boot, { ...options, eval: true, execArgv: [] });
}

/** Healthy idle workers by heap limit: starting one costs far more than most files take to decode. */
const idle = new Map<number, Worker[]>();
const MAX_IDLE = 2;

function acquire(budget: DicomBudget): Worker {
  const reuse = idle.get(budget.heapMb)?.pop();
  if (reuse) {
    reuse.ref();
    return reuse;
  }
  // The worker's stdio is left piped to this process (not `stdout: true`): a parent-side stdio
  // stream that has been read holds the process open until its worker exits, and pooled workers
  // live on. The worker itself writes nothing to stdio (worker.ts returns decoder messages as notes).
  const worker = startWorker({
    resourceLimits: { maxOldGenerationSizeMb: budget.heapMb, maxYoungGenerationSizeMb: Math.min(64, budget.heapMb / 4), stackSizeMb: 8 },
  });
  // A worker that dies while idle must not be handed the next file.
  worker.once("exit", () => {
    for (const [k, list] of idle) idle.set(k, list.filter((w) => w !== worker));
  });
  return worker;
}

function release(worker: Worker, budget: DicomBudget): void {
  const list = idle.get(budget.heapMb) ?? [];
  if (list.length >= MAX_IDLE) {
    void worker.terminate();
    return;
  }
  // An idle worker must not keep the process alive.
  worker.unref();
  list.push(worker);
  idle.set(budget.heapMb, list);
}

function discard(worker: Worker, budget: DicomBudget): void {
  const list = idle.get(budget.heapMb);
  if (list) idle.set(budget.heapMb, list.filter((w) => w !== worker));
  void worker.terminate();
}

export function runDicomJob(job: DicomJob, budget: DicomBudget = DEFAULT_DICOM_BUDGET): Promise<DicomJobResult> {
  return new Promise((resolve, reject) => {
    const worker = acquire(budget);
    let settled = false;
    const cleanup = (): void => {
      clearTimeout(timer);
      worker.off("message", onMessage);
      worker.off("error", onError);
      worker.off("exit", onExit);
    };
    /** `healthy`: the worker answered and may serve the next file; otherwise it is terminated. */
    const finish = (healthy: boolean, f: () => void): void => {
      if (settled) return;
      settled = true;
      cleanup();
      if (healthy) release(worker, budget);
      else discard(worker, budget);
      f();
    };
    const timer = setTimeout(
      () => finish(false, () => reject(new DicomBudgetError(job.path, `refused: decoding took longer than ${budget.timeoutMs} ms (the per-file time budget); the file was not processed`, { details: { budget: "time", limitMs: budget.timeoutMs } }))),
      budget.timeoutMs,
    );
    const onMessage = (msg: { ok: true; result: DicomJobResult } | { ok: false; error: { name?: string; message: string; code?: string; details?: Record<string, unknown> } }): void => {
      if (msg.ok) return finish(true, () => resolve(msg.result));
      const e = msg.error;
      const code = Object.values(ErrorCode).includes(e.code as ErrorCode) ? (e.code as ErrorCode) : ErrorCode.InvalidArgument;
      // The worker's MedfclError comes back as data; it is rebuilt with its code and details.
      finish(true, () => reject(e.name === "DicomError" || e.name === "PrivacyArgumentError" ? new MedfclError(code, e.message, { details: e.details }) : new DicomError(job.path, e.message)));
    };
    const onError = (err: Error & { code?: string }): void => {
      const memory = err.code === "ERR_WORKER_OUT_OF_MEMORY";
      finish(false, () =>
        reject(
          memory
            ? new DicomBudgetError(job.path, `refused: decoding needed more than ${budget.heapMb} MiB of heap (the per-file memory budget); the file was not processed`, { details: { budget: "memory", limitMb: budget.heapMb } })
            : new DicomError(job.path, `decoder failed: ${err.message}`, { cause: err }),
        ),
      );
    };
    const onExit = (code: number): void => finish(false, () => reject(new DicomError(job.path, `decoder exited with code ${code} before answering`)));
    worker.on("message", onMessage);
    worker.once("error", onError);
    worker.once("exit", onExit);
    worker.postMessage(job);
  });
}
