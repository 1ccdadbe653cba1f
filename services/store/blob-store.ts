import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { removeStaleTempFiles, sha256OfFile, writeFileAtomic, writeFileAtomicSync } from "./atomic.js";
import { BlobCorruptError, BlobNotFoundError, BlobSizeMismatchError, InvalidDigestError, storageFault } from "./errors.js";

const SHA256_RE = /^[0-9a-f]{64}$/;

export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

export function assertDigest(sha256: string): void {
  if (!SHA256_RE.test(sha256)) throw new InvalidDigestError(sha256);
}

export interface BlobStore {
  readonly root: string;
  /**
   * Stores bytes under their sha256 and returns it. Idempotent: the same bytes give the same name;
   * a blob already there whose bytes no longer match its name is replaced by these correct ones.
   */
  put(data: Uint8Array): string;
  /**
   * Streams a payload in and checks it against `expectedSha256` (and `expectedSize`) before it
   * becomes visible; a payload that fails either check, or whose stream fails, leaves nothing.
   */
  putStream(chunks: AsyncIterable<Uint8Array>, expectedSha256?: string, expectedSize?: number): Promise<{ sha256: string; size: number }>;
  /** Deletes a blob (refused uploads); absent blobs are fine. */
  remove(sha256: string): void;
  has(sha256: string): boolean;
  /** Reads and verifies; a blob whose bytes no longer match its name raises BlobCorruptError. */
  get(sha256: string): Buffer;
  size(sha256: string): number;
  pathOf(sha256: string): string;
  /** Reads `[offset, offset+length)` without verifying; callers that resume a transfer verify the whole. */
  readRange(sha256: string, offset: number, length: number): AsyncIterable<Buffer>;
  list(): string[];
}

function blobPath(root: string, sha256: string): string {
  return join(root, sha256.slice(0, 2), sha256);
}

/**
 * A content-addressed store on disk: `root/ab/abcdef…`. Writes go through a temp file and a rename,
 * so a crash leaves either no blob or a complete one; stale temp files are removed on open. Every
 * write is read back and hashed before the rename, so a blob is only ever visible at its own digest;
 * a full disk or an I/O error is a StorageWriteError and leaves nothing at the address.
 */
export function openBlobStore(root: string, options: { inspectOnly?: boolean } = {}): BlobStore {
  mkdirSync(root, { recursive: true });
  // A crash mid-upload leaves a file in staging/ that is named by no digest; it is never served.
  // Only the store's owner sweeps: an inspecting process (`medfcl store verify` beside a running
  // coordinator) must not delete uploads in flight.
  if (!options.inspectOnly) {
    rmSync(join(root, "staging"), { recursive: true, force: true });
    for (const shard of readdirSync(root)) {
      const dir = join(root, shard);
      if (statSync(dir).isDirectory()) removeStaleTempFiles(dir);
    }
  }

  const store: BlobStore = {
    root,
    put(data) {
      const sha256 = sha256Hex(data);
      const path = blobPath(root, sha256);
      if (!existsSync(path) || sha256Hex(readFileSync(path)) !== sha256) writeFileAtomicSync(path, data, { sha256 });
      return sha256;
    },
    async putStream(chunks, expectedSha256, expectedSize) {
      if (expectedSha256 !== undefined) assertDigest(expectedSha256);
      const hash = createHash("sha256");
      let size = 0;
      const staging = join(root, "staging", `${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`);
      async function* hashing(): AsyncIterable<Uint8Array> {
        for await (const chunk of chunks) {
          hash.update(chunk);
          size += chunk.byteLength;
          yield chunk;
        }
      }
      await writeFileAtomic(staging, hashing());
      const sha256 = hash.digest("hex");
      if (expectedSize !== undefined && size !== expectedSize) {
        await rm(staging, { force: true });
        throw new BlobSizeMismatchError(expectedSha256 ?? sha256, expectedSize, size);
      }
      if (expectedSha256 !== undefined && sha256 !== expectedSha256) {
        await rm(staging, { force: true });
        throw new BlobCorruptError(`upload for ${expectedSha256}`, expectedSha256, sha256);
      }
      const path = blobPath(root, sha256);
      try {
        // What reached the disk is hashed again: only these exact bytes may appear at the address.
        const onDisk = await sha256OfFile(staging);
        if (onDisk !== sha256) throw new BlobCorruptError(staging, sha256, onDisk);
        await mkdir(join(root, sha256.slice(0, 2)), { recursive: true });
        await rename(staging, path);
      } catch (err) {
        await rm(staging, { force: true });
        throw storageFault(err, path) ?? err;
      }
      return { sha256, size };
    },
    remove(sha256) {
      assertDigest(sha256);
      rmSync(blobPath(root, sha256), { force: true });
    },
    has(sha256) {
      assertDigest(sha256);
      return existsSync(blobPath(root, sha256));
    },
    get(sha256) {
      assertDigest(sha256);
      const path = blobPath(root, sha256);
      if (!existsSync(path)) throw new BlobNotFoundError(sha256);
      const data = readFileSync(path);
      const actual = sha256Hex(data);
      if (actual !== sha256) throw new BlobCorruptError(path, sha256, actual);
      return data;
    },
    size(sha256) {
      assertDigest(sha256);
      const path = blobPath(root, sha256);
      if (!existsSync(path)) throw new BlobNotFoundError(sha256);
      return statSync(path).size;
    },
    pathOf(sha256) {
      assertDigest(sha256);
      return blobPath(root, sha256);
    },
    async *readRange(sha256, offset, length) {
      const path = store.pathOf(sha256);
      if (!existsSync(path)) throw new BlobNotFoundError(sha256);
      if (length <= 0) return;
      const stream = createReadStream(path, { start: offset, end: offset + length - 1, highWaterMark: 1 << 20 });
      for await (const chunk of stream) yield chunk as Buffer;
    },
    list() {
      const out: string[] = [];
      for (const shard of readdirSync(root)) {
        if (shard.length !== 2) continue;
        for (const name of readdirSync(join(root, shard))) if (SHA256_RE.test(name)) out.push(name);
      }
      return out.sort();
    },
  };
  return store;
}
