import * as grpc from "@grpc/grpc-js";
import { createHash } from "node:crypto";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { ErrorCode, MedfclError } from "../services/errors/index.js";
import type { Logger } from "../services/log/index.js";
import { storageFault, writeAllSync } from "../services/store/index.js";
import { backoffMs, channelOptions, clientCredentials, isTransient, medfclProto, retryAfterMs, sleepUnlessAborted, type TlsFiles } from "../services/transport/index.js";
import type { SiteServiceClient } from "../generated/medfcl/v1/SiteService.js";
import type { ExemplarInfo, ExemplarInfo__Output } from "../generated/medfcl/v1/ExemplarInfo.js";
import type { UpdateHeader } from "../generated/medfcl/v1/UpdateHeader.js";
import type { PushUpdateResponse__Output } from "../generated/medfcl/v1/PushUpdateResponse.js";
import type { PushExemplarsResponse__Output } from "../generated/medfcl/v1/PushExemplarsResponse.js";
import { TransferError } from "./errors.js";

export interface SiteClientOptions {
  address: string;
  tls?: TlsFiles;
  insecure: boolean;
  /** Hostname the coordinator certificate must carry, when it differs from the address host. */
  serverName?: string;
}

export function createSiteClient(opts: SiteClientOptions): SiteServiceClient {
  const proto = medfclProto();
  const options: grpc.ChannelOptions = { ...channelOptions() };
  if (opts.serverName) options["grpc.ssl_target_name_override"] = opts.serverName;
  return new proto.medfcl.v1.SiteService(opts.address, clientCredentials(opts.tls, opts.insecure, "agent"), options);
}

/** Promisifies a unary call with a deadline. */
export function call<Req, Res>(
  fn: (req: Req, meta: grpc.Metadata, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown,
  req: Req,
  timeoutMs = 60_000,
  signal?: AbortSignal,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    // A long poll must not hold a shutdown for its whole wait. The listener goes with the call: the
    // agent's signal lives as long as the agent, and one left per call is a leak.
    const cancel = (): void => pending.cancel();
    const pending = fn(req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
      signal?.removeEventListener("abort", cancel);
      if (err) reject(err);
      else resolve(res as Res);
    }) as grpc.ClientUnaryCall;
    signal?.addEventListener("abort", cancel, { once: true });
  });
}

function isRetryable(err: unknown): boolean {
  const code = (err as grpc.ServiceError)?.code;
  return isTransient(err) || code === grpc.status.INTERNAL || code === grpc.status.CANCELLED || code === undefined;
}

/** Hashes through a fixed 1 MiB buffer: reading a model whole would add its size to the agent's peak RSS. */
function sha256File(path: string): string {
  const hash = createHash("sha256");
  const buf = Buffer.allocUnsafe(1024 * 1024);
  const fd = openSync(path, "r");
  try {
    for (let n = readSync(fd, buf, 0, buf.length, null); n > 0; n = readSync(fd, buf, 0, buf.length, null)) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

export interface PullOptions {
  maxAttempts?: number;
  chunkBytes?: number;
  logger?: Logger;
  onProgress?: (received: number, total: number) => void;
  /** Called with the offset of every (re)started attempt; tests use it to see the resume. */
  onAttempt?: (offset: number) => void;
}

/**
 * Downloads a model version into `dest`, appending to `dest.part` so that a dropped connection
 * resumes from the bytes already held. The final file appears only after its sha256 matches.
 */
export async function pullModel(client: SiteServiceClient, siteId: string, version: string, dest: string, opts: PullOptions = {}): Promise<string> {
  if (existsSync(dest) && sha256File(dest) === version) return dest;
  mkdirSync(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const maxAttempts = opts.maxAttempts ?? 8;
  for (let attempt = 1; ; attempt++) {
    const offset = existsSync(part) ? statSync(part).size : 0;
    opts.onAttempt?.(offset);
    try {
      let total = -1;
      await new Promise<void>((resolve, reject) => {
        const fd = openSync(part, "a");
        let open = true;
        const closeFd = (): void => {
          if (open) closeSync(fd);
          open = false;
        };
        let pos = offset;
        const stream = client.PullModel({ site_id: siteId, version, offset, chunk_bytes: opts.chunkBytes ?? 1024 * 1024 });
        stream.on("data", (msg: { total_size: number; sha256: string; chunk: { offset: number; data: Buffer } | null }) => {
          total = Number(msg.total_size);
          if (msg.sha256 !== version) {
            closeFd();
            stream.cancel();
            return reject(new TransferError(`coordinator sent model ${msg.sha256} for ${version}`));
          }
          if (!msg.chunk || Number(msg.chunk.offset) !== pos) {
            closeFd();
            stream.cancel();
            return reject(new TransferError(`chunk at offset ${msg.chunk?.offset} while ${pos} was expected`));
          }
          if (!open) return;
          try {
            writeAllSync(fd, msg.chunk.data, part);
          } catch (err) {
            // A full disk: the bytes held so far stay in .part for a resume once there is room.
            closeFd();
            stream.cancel();
            return reject(storageFault(err, part) ?? err);
          }
          pos += msg.chunk.data.length;
          opts.onProgress?.(pos, total);
        });
        stream.on("error", (err) => {
          closeFd();
          reject(err);
        });
        stream.on("end", () => {
          try {
            if (open) fsyncSync(fd);
          } catch (err) {
            closeFd();
            return reject(storageFault(err, part) ?? err);
          }
          closeFd();
          resolve();
        });
      });
      const size = statSync(part).size;
      if (total >= 0 && size < total) throw new TransferError(`stream ended at ${size} of ${total} bytes`);
      const actual = sha256File(part);
      if (actual !== version) {
        rmSync(part, { force: true });
        throw new TransferError(`downloaded model hashes to ${actual}, not ${version}; the partial file was discarded`);
      }
      try {
        renameSync(part, dest);
      } catch (err) {
        throw storageFault(err, dest) ?? err;
      }
      return dest;
    } catch (err) {
      if (attempt >= maxAttempts || !(isRetryable(err) || err instanceof TransferError)) {
        throw err instanceof MedfclError ? err : new MedfclError(ErrorCode.Unavailable, `PullModel ${version} failed: ${(err as Error).message}`, { cause: err });
      }
      const held = existsSync(part) ? statSync(part).size : 0;
      opts.logger?.warn({ version: version.slice(0, 12), attempt, held, err: (err as Error).message }, "model download interrupted; resuming");
      await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** attempt, 5000)));
    }
  }
}

function* chunksOf(bytes: Buffer, size: number): Generator<{ offset: number; data: Buffer }> {
  for (let off = 0; off < bytes.length; off += size) yield { offset: off, data: bytes.subarray(off, off + size) };
}

/** Client-streams a delta: header first, then chunks in order, honouring back-pressure. */
export function pushUpdate(client: SiteServiceClient, header: UpdateHeader, bytes: Buffer, chunkBytes = 1024 * 1024): Promise<PushUpdateResponse__Output> {
  return new Promise((resolve, reject) => {
    const stream = client.PushUpdate((err, res) => (err ? reject(err) : resolve(res!)));
    (async () => {
      stream.write({ header });
      for (const chunk of chunksOf(bytes, chunkBytes)) {
        if (!stream.write({ chunk })) await new Promise((r) => stream.once("drain", r));
      }
      stream.end();
    })().catch(reject);
  });
}

export interface RetryOptions {
  /** Aborted when the agent stops or the coordinator cancels the task: the only ways retrying ends. */
  signal: AbortSignal;
  logger?: Logger;
  /** First backoff delay; doubles per attempt up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Called before every attempt (1-based); tests use it to see the retries. */
  onAttempt?: (attempt: number) => void;
}

/**
 * Runs `op` until it succeeds, the coordinator answers with a status that retrying cannot change
 * (the update was rejected, the task is stale or gone: thrown), or `signal` aborts. Transport
 * failures (a restarting coordinator, ECONNRESET) and refusals that end by themselves (a full disk
 * at the coordinator: RESOURCE_EXHAUSTED with a retry-after trailer) are retried with capped
 * exponential backoff and jitter.
 * Callers only retry idempotent operations: an update is named by its sha256, and the coordinator
 * answers a repeated one as a duplicate.
 */
export async function withRetry<T>(what: string, op: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const base = opts.baseDelayMs ?? 250;
  const max = opts.maxDelayMs ?? 10_000;
  let dataLosses = 0;
  for (let attempt = 1; ; attempt++) {
    opts.onAttempt?.(attempt);
    try {
      return await op();
    } catch (err) {
      // DATA_LOSS: the coordinator received other bytes than were sent (a cut stream); worth a few more tries.
      const dataLoss = (err as grpc.ServiceError)?.code === grpc.status.DATA_LOSS && ++dataLosses <= 3;
      if (!(isRetryable(err) || dataLoss) || opts.signal.aborted) throw err;
      // A coordinator whose disk is full says when to come back; it is not waited on harder than that.
      const delay = Math.max(backoffMs(attempt, { baseMs: base, maxMs: max }), Math.min(retryAfterMs(err) ?? 0, max));
      opts.logger?.warn({ what, attempt, retryInMs: delay, err: (err as Error).message }, "upload failed; retrying");
      await sleepUnlessAborted(delay, opts.signal);
      if (opts.signal.aborted) throw err;
    }
  }
}

export interface PulledExemplar {
  info: ExemplarInfo__Output;
  bytes: Buffer;
}

export function pullExemplars(client: SiteServiceClient, siteId: string, taskId: string, ids: string[]): Promise<PulledExemplar[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const out: PulledExemplar[] = [];
    let current: { info: ExemplarInfo__Output; parts: Buffer[] } | null = null;
    const flush = (): void => {
      if (current) out.push({ info: current.info, bytes: Buffer.concat(current.parts) });
      current = null;
    };
    const stream = client.PullExemplars({ site_id: siteId, task_id: taskId, exemplar_ids: ids });
    stream.on("data", (msg: { info?: ExemplarInfo__Output | null; chunk?: { data: Buffer } | null }) => {
      if (msg.info) {
        flush();
        current = { info: msg.info, parts: [] };
      } else if (msg.chunk && current) current.parts.push(msg.chunk.data);
    });
    stream.on("error", reject);
    stream.on("end", () => {
      flush();
      for (const e of out) {
        const sha = createHash("sha256").update(e.bytes).digest("hex");
        if (sha !== e.info.exemplar_id) return reject(new TransferError(`exemplar ${e.info.exemplar_id} arrived with sha256 ${sha}`));
      }
      resolve(out);
    });
  });
}

export function pushExemplars(client: SiteServiceClient, siteId: string, taskId: string, items: { info: ExemplarInfo; bytes: Buffer }[], chunkBytes = 1024 * 1024): Promise<PushExemplarsResponse__Output> {
  return new Promise((resolve, reject) => {
    const stream = client.PushExemplars((err, res) => (err ? reject(err) : resolve(res!)));
    (async () => {
      stream.write({ header: { site_id: siteId, task_id: taskId } });
      for (const item of items) {
        stream.write({ info: item.info });
        for (const chunk of chunksOf(item.bytes, chunkBytes)) {
          if (!stream.write({ chunk })) await new Promise((r) => stream.once("drain", r));
        }
      }
      stream.end();
    })().catch(reject);
  });
}
