import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, openSync, writeSync, fsyncSync, fchmodSync, closeSync, renameSync, rmSync, readdirSync, readFileSync, createReadStream } from "node:fs";
import { open, rename, rm, mkdir, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { BlobCorruptError, storageFault, StorageWriteError } from "./errors.js";

/** Temp files start with this prefix so listings and cleanup can tell them from real files. */
export const TEMP_PREFIX = ".tmp-";

function tempPathFor(path: string): string {
  return join(dirname(path), `${TEMP_PREFIX}${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}`);
}

function fsyncDir(dir: string): void {
  // Makes the rename itself durable; some filesystems refuse to open a directory, which is fine.
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* best effort */
  }
}

/** A storage fault as the typed error naming `path`; any other error unchanged. */
function typed(err: unknown, path: string): unknown {
  return storageFault(err, path) ?? err;
}

/**
 * Writes every byte of `data` at the file's current offset. `write(2)` may write fewer bytes than
 * asked (a nearly full filesystem writes what fits and reports the count); the rest is written
 * again, which either completes or fails with the real error (ENOSPC). Ignoring the count once
 * left short files that were then fsynced and renamed into place as if complete.
 */
export function writeAllSync(fd: number, data: Uint8Array, path: string): void {
  for (let off = 0; off < data.byteLength; ) {
    const n = writeSync(fd, data, off, data.byteLength - off);
    // A regular file never takes 0 bytes of a non-empty write unless it cannot take any.
    if (n <= 0) throw new StorageWriteError(path, "ENOSPC");
    off += n;
  }
}

/** Async twin of {@link writeAllSync} for a batch of buffers written at `position` with writev. */
async function writevAll(handle: FileHandle, buffers: Uint8Array[], position: number, path: string): Promise<void> {
  let pending = buffers;
  let at = position;
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending, at);
    if (bytesWritten <= 0) throw new StorageWriteError(path, "ENOSPC");
    at += bytesWritten;
    // Drop what was written: whole buffers, then the written head of the first one left.
    let skip = bytesWritten;
    const rest: Uint8Array[] = [];
    for (const b of pending) {
      if (skip >= b.byteLength) skip -= b.byteLength;
      else {
        rest.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    pending = rest;
  }
}

export interface AtomicWriteOptions {
  /** File mode from the temp file's creation on (default 0o644). */
  mode?: number;
  /**
   * The sha256 the file must have: the temp file is read back and hashed before the rename, so a
   * file that is not these bytes never becomes visible at `path` (content-addressed blobs).
   */
  sha256?: string;
}

function sha256OfFileSync(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * Writes `data` to `path` so that a reader sees either the old file or the complete new one, never
 * a partial write: temp file in the same directory, every byte written (short writes resumed),
 * fsync, rename, fsync of the directory. A full disk, a quota, an I/O error or a read-only
 * filesystem is thrown as a StorageWriteError and leaves nothing new behind.
 * `mode` applies from the temp file's creation, so a secret (mode 0o600) is never briefly readable.
 */
export function writeFileAtomicSync(path: string, data: Uint8Array | string, options: AtomicWriteOptions = {}): void {
  const tmp = tempPathFor(path);
  const mode = options.mode ?? 0o644;
  let fd: number;
  try {
    mkdirSync(dirname(path), { recursive: true });
    fd = openSync(tmp, "wx", mode);
  } catch (err) {
    throw typed(err, path);
  }
  try {
    fchmodSync(fd, mode); // the umask may only narrow the mode; be explicit
    writeAllSync(fd, typeof data === "string" ? Buffer.from(data) : data, path);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    if (options.sha256 !== undefined) {
      const actual = sha256OfFileSync(tmp);
      if (actual !== options.sha256) throw new BlobCorruptError(tmp, options.sha256, actual);
    }
    renameSync(tmp, path);
  } catch (err) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
    throw typed(err, path);
  }
  fsyncDir(dirname(path));
}

/** Writes of a streamed payload that may be in the thread pool at once (chunks are up to a few MiB). */
const WRITES_IN_FLIGHT = 4;

/**
 * Smaller chunks are gathered into one writev of at least this many bytes. A socket delivers 64 KiB
 * reads, and one thread-pool write per read cost 2–8× the CPU of 1 MiB writes for a 64 MiB upload
 * (docs/benchmarks.md "Transfer"); writev needs no copy.
 */
export const WRITE_BATCH_BYTES = 1024 * 1024;

/** Async twin of {@link writeFileAtomicSync}; accepts an async iterable so large payloads stream. */
export async function writeFileAtomic(path: string, data: Uint8Array | string | AsyncIterable<Uint8Array>, options: AtomicWriteOptions = {}): Promise<void> {
  const tmp = tempPathFor(path);
  let handle: FileHandle;
  try {
    await mkdir(dirname(path), { recursive: true });
    handle = await open(tmp, "w", options.mode ?? 0o644);
  } catch (err) {
    throw typed(err, path);
  }
  try {
    if (typeof data === "string" || data instanceof Uint8Array) {
      await handle.writeFile(data);
    } else {
      // Up to WRITES_IN_FLIGHT positional writes run in the thread pool while the next chunks
      // arrive: awaiting each write before pulling the next chunk would stall the producer (an
      // upload's HTTP/2 stream) for the length of every write.
      const inFlight: Promise<unknown>[] = [];
      let position = 0;
      let batch: Uint8Array[] = [];
      let batchBytes = 0;
      const flush = (): void => {
        if (batch.length === 0) return;
        const write = writevAll(handle, batch, position, path);
        // Handled here so that a failure while the loop awaits the producer is not unhandled; it is rethrown below.
        write.catch(() => undefined);
        inFlight.push(write);
        position += batchBytes;
        batch = [];
        batchBytes = 0;
      };
      let producerError: unknown = null;
      try {
        for await (const chunk of data) {
          if (chunk.byteLength === 0) continue;
          batch.push(chunk);
          batchBytes += chunk.byteLength;
          if (batchBytes < WRITE_BATCH_BYTES) continue;
          flush();
          if (inFlight.length >= WRITES_IN_FLIGHT) await inFlight.shift();
        }
        flush();
      } catch (err) {
        producerError = err;
      }
      // Every write settles before the handle is closed (or the temp file removed).
      const failed = (await Promise.allSettled(inFlight)).find((r) => r.status === "rejected");
      if (producerError !== null) throw producerError;
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
    await handle.sync();
    await handle.close();
    if (options.sha256 !== undefined) {
      const actual = await sha256OfFile(tmp);
      if (actual !== options.sha256) throw new BlobCorruptError(tmp, options.sha256, actual);
    }
    await rename(tmp, path);
  } catch (err) {
    await handle.close().catch(() => undefined); // already closed on the way to the rename
    await rm(tmp, { force: true });
    throw typed(err, path);
  }
  fsyncDir(dirname(path));
}

/** Removes temp files that a crashed writer left behind in `dir` (not recursive). */
export function removeStaleTempFiles(dir: string): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (name.startsWith(TEMP_PREFIX)) {
      rmSync(join(dir, name), { force: true });
      removed++;
    }
  }
  return removed;
}
