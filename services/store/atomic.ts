import { randomBytes } from "node:crypto";
import { mkdirSync, openSync, writeSync, fsyncSync, fchmodSync, closeSync, renameSync, rmSync, readdirSync } from "node:fs";
import { open, rename, rm, mkdir } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

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

/**
 * Writes `data` to `path` so that a reader sees either the old file or the complete new one, never
 * a partial write: temp file in the same directory, fsync, rename, fsync of the directory.
 * `mode` applies from the temp file's creation, so a secret (mode 0o600) is never briefly readable.
 */
export function writeFileAtomicSync(path: string, data: Uint8Array | string, options: { mode?: number } = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  const mode = options.mode ?? 0o644;
  const fd = openSync(tmp, "wx", mode);
  try {
    fchmodSync(fd, mode); // the umask may only narrow the mode; be explicit
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
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
export async function writeFileAtomic(path: string, data: Uint8Array | string | AsyncIterable<Uint8Array>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  const handle = await open(tmp, "w", 0o644);
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
        const write = handle.writev(batch, position);
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
  } catch (err) {
    await handle.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  await rename(tmp, path);
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
