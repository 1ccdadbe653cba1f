/**
 * Time and memory budgets for DICOM decoding. dcmjs and the pixel decoders run on whatever a file
 * declares; some valid vendor files make them spin for minutes or grow without bound. Every decode
 * in the privacy pipeline runs in a child process with a V8 heap limit and a wall-clock timeout:
 * over either, the process is killed and the file is refused with a message, never a hang.
 *
 * A process, not a worker thread: when a worker reaches its heap limit while allocating an
 * ArrayBuffer, V8 aborts the whole process (FatalProcessOutOfMemory), so one hostile file would take
 * the site agent down with it. A child process dies alone.
 */
import { fork, type ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import { fileURLToPath } from "node:url";
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

const fromSource = import.meta.url.endsWith(".ts");
const decoderPath = fileURLToPath(new URL(fromSource ? "./decode-process.ts" : "./decode-process.js", import.meta.url));
/** V8 writes this to stderr when a heap limit is reached, just before it aborts. */
const HEAP_EXHAUSTED = /heap out of memory|Reached heap limit/;

/** From source the decoder is TypeScript and runs through tsx's loader (a devDependency). */
function startDecoder(budget: DicomBudget): ChildProcess {
  const loader = fromSource ? ["--import", import.meta.resolve("tsx")] : [];
  return fork(decoderPath, [], {
    // V8's stack limit (KiB) must stay under the main thread's real stack (ulimit -s, usually 8 MiB),
    // or deep recursion segfaults instead of throwing RangeError.
    execArgv: [...loader, `--max-old-space-size=${budget.heapMb}`, `--max-semi-space-size=${Math.max(1, Math.min(16, Math.floor(budget.heapMb / 8)))}`, "--stack-size=4096"],
    // Buffers cross the channel as bytes, not as JSON arrays.
    serialization: "advanced",
    // stdout carries nothing (decode-console.ts); stderr is read for V8's out-of-memory message.
    stdio: ["ignore", "ignore", "pipe", "ipc"],
  });
}

interface Decoder {
  proc: ChildProcess;
  /** The tail of what the process wrote to stderr. */
  stderr: string;
}

/** Healthy idle decoders by heap limit: starting one costs far more than most files take to decode. */
const idle = new Map<number, Decoder[]>();
const MAX_IDLE = 2;

/** An idle decoder must not keep the caller's process alive; a busy one must. */
function setRef(d: Decoder, on: boolean): void {
  // A piped stdio stream of a child is a socket, although typed as a plain Readable.
  for (const h of [d.proc, d.proc.channel, d.proc.stderr as Socket | null]) {
    if (!h) continue;
    if (on) h.ref();
    else h.unref();
  }
}

function acquire(budget: DicomBudget): Decoder {
  const reuse = idle.get(budget.heapMb)?.pop();
  if (reuse) {
    setRef(reuse, true);
    reuse.stderr = "";
    return reuse;
  }
  const d: Decoder = { proc: startDecoder(budget), stderr: "" };
  d.proc.stderr!.setEncoding("utf8");
  d.proc.stderr!.on("data", (chunk: string) => {
    d.stderr = (d.stderr + chunk).slice(-4096);
  });
  // A decoder that dies while idle must not be handed the next file.
  d.proc.once("exit", () => {
    for (const [k, list] of idle) idle.set(k, list.filter((x) => x !== d));
  });
  // Its job's listeners are gone once the job settles; a late error must not become an uncaught one.
  d.proc.on("error", () => {});
  return d;
}

function release(d: Decoder, budget: DicomBudget): void {
  const list = idle.get(budget.heapMb) ?? [];
  if (list.length >= MAX_IDLE || !d.proc.connected) {
    d.proc.kill("SIGKILL");
    return;
  }
  setRef(d, false);
  list.push(d);
  idle.set(budget.heapMb, list);
}

function discard(d: Decoder, budget: DicomBudget): void {
  const list = idle.get(budget.heapMb);
  if (list) idle.set(budget.heapMb, list.filter((x) => x !== d));
  d.proc.kill("SIGKILL");
}

type DecoderMessage = { ok: true; result: DicomJobResult } | { ok: false; error: { name?: string; message: string; code?: string; details?: Record<string, unknown> } };

export function runDicomJob(job: DicomJob, budget: DicomBudget = DEFAULT_DICOM_BUDGET): Promise<DicomJobResult> {
  return new Promise((resolve, reject) => {
    const d = acquire(budget);
    const { proc } = d;
    let settled = false;
    const cleanup = (): void => {
      clearTimeout(timer);
      proc.off("message", onMessage);
      proc.off("error", onError);
      proc.off("close", onClose);
    };
    /** `healthy`: the decoder answered and may serve the next file; otherwise it is killed. */
    const finish = (healthy: boolean, f: () => void): void => {
      if (settled) return;
      settled = true;
      cleanup();
      if (healthy) release(d, budget);
      else discard(d, budget);
      f();
    };
    const timer = setTimeout(
      () => finish(false, () => reject(new DicomBudgetError(job.path, `refused: decoding took longer than ${budget.timeoutMs} ms (the per-file time budget); the file was not processed`, { details: { budget: "time", limitMs: budget.timeoutMs } }))),
      budget.timeoutMs,
    );
    const onMessage = (msg: DecoderMessage): void => {
      if (msg.ok) return finish(true, () => resolve(msg.result));
      const e = msg.error;
      const code = Object.values(ErrorCode).includes(e.code as ErrorCode) ? (e.code as ErrorCode) : ErrorCode.InvalidArgument;
      // The decoder's MedfclError comes back as data; it is rebuilt with its code and details.
      finish(true, () => reject(e.name === "DicomError" || e.name === "PrivacyArgumentError" ? new MedfclError(code, e.message, { details: e.details }) : new DicomError(job.path, e.message)));
    };
    const onError = (err: Error): void => finish(false, () => reject(new DicomError(job.path, `decoder failed: ${err.message}`, { cause: err })));
    // "close" comes after stderr has been read to its end, so an out-of-memory message is in hand.
    const onClose = (code: number | null, signal: NodeJS.Signals | null): void =>
      finish(false, () =>
        reject(
          HEAP_EXHAUSTED.test(d.stderr)
            ? new DicomBudgetError(job.path, `refused: decoding needed more than ${budget.heapMb} MiB of heap (the per-file memory budget); the file was not processed`, { details: { budget: "memory", limitMb: budget.heapMb } })
            : new DicomError(job.path, `decoder exited (${signal ?? `code ${code}`}) before answering${d.stderr.trim() ? `: ${d.stderr.trim().split("\n").slice(-3).join(" | ")}` : ""}`),
        ),
      );
    proc.on("message", onMessage);
    proc.once("error", onError);
    proc.once("close", onClose);
    proc.send(job);
  });
}
