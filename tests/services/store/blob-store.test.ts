import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BlobCorruptError, BlobNotFoundError, openBlobStore, sha256Hex, WRITE_BATCH_BYTES, writeFileAtomicSync } from "../../../services/store/index.js";
import { tempDir as sharedTempDir } from "../../helpers/temp.js";

function tempDir(): string {
  return sharedTempDir("medfcl-store-");
}

describe("store", () => {
  it("store - put is content-addressed and idempotent", () => {
    const store = openBlobStore(tempDir());
    const data = Buffer.from("hello medfcl");
    const a = store.put(data);
    const b = store.put(data);
    assert.equal(a, sha256Hex(data));
    assert.equal(a, b);
    assert.deepEqual(store.get(a), data);
    assert.deepEqual(store.list(), [a]);
  });

  it("store - a corrupted blob is rejected on read with a clear error", () => {
    const store = openBlobStore(tempDir());
    const sha = store.put(Buffer.from("weights"));
    writeFileSync(store.pathOf(sha), "weightz");
    assert.throws(() => store.get(sha), (err: unknown) => err instanceof BlobCorruptError && /corrupt/.test(err.message) && err.message.includes(sha));
  });

  it("store - a missing blob is NotFound", () => {
    const store = openBlobStore(tempDir());
    assert.throws(() => store.get("0".repeat(64)), BlobNotFoundError);
  });

  it("store - putStream verifies the expected digest before the blob becomes visible", async () => {
    const store = openBlobStore(tempDir());
    async function* chunks() {
      yield Buffer.from("abc");
      yield Buffer.from("def");
    }
    const ok = await store.putStream(chunks(), sha256Hex("abcdef"));
    assert.equal(ok.size, 6);
    await assert.rejects(store.putStream(chunks(), sha256Hex("other")), BlobCorruptError);
    assert.deepEqual(store.list(), [sha256Hex("abcdef")]);
  });

  it("store - putStream keeps every byte in order when small reads are batched into larger writes", async () => {
    const store = openBlobStore(tempDir());
    // 3.2 MiB in uneven pieces (1 B to 96 KiB, some empty), as a socket or a gRPC stream delivers
    // them: the writer gathers them into writes of WRITE_BATCH_BYTES or more, and a write may
    // straddle any chunk boundary.
    const total = 3 * WRITE_BATCH_BYTES + 200_003;
    const data = Buffer.alloc(total);
    for (let i = 0; i < total; i++) data[i] = (i * 2654435761) >>> 24;
    const sizes = [0, 1, 7, 65_536, 98_304, 0, 4093, 1 << 20, 13];
    async function* pieces() {
      let at = 0;
      for (let k = 0; at < total; k++) {
        const n = Math.min(sizes[k % sizes.length], total - at);
        yield data.subarray(at, at + n);
        at += n;
      }
    }
    const { sha256, size } = await store.putStream(pieces(), sha256Hex(data), total);
    assert.equal(size, total);
    assert.ok(store.get(sha256).equals(data));
    // A single chunk larger than a batch, and a stream smaller than one, both go through as they are.
    async function* one(b: Buffer) {
      yield b;
    }
    assert.ok(store.get((await store.putStream(one(data))).sha256).equals(data));
    const small = Buffer.from("under one batch");
    assert.ok(store.get((await store.putStream(one(small))).sha256).equals(small));
  });

  it("store - a writer killed mid-write leaves the old content intact and no partial file", async () => {
    const dir = tempDir();
    const target = join(dir, "model.safetensors");
    writeFileAtomicSync(target, "old content");
    // The child streams 256 MiB slowly through the atomic writer; we SIGKILL it mid-way.
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "-e",
        `import { writeFileAtomic } from "./services/store/index.ts";
         async function* slow() { for (let i = 0; i < 256; i++) { yield Buffer.alloc(1 << 20, i); if (i === 2) process.stdout.write("writing\\n"); await new Promise((r) => setTimeout(r, 20)); } }
         await writeFileAtomic(${JSON.stringify(target)}, slow());`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    const partial = readdirSync(dir).filter((n) => n !== "model.safetensors");
    assert.equal(partial.length, 1, "the writer should be mid-way, with its temp file present");
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    assert.equal(readFileSync(target, "utf8"), "old content");
    // Opening a store on the folder sweeps the crashed writer's temp file.
    const store = openBlobStore(join(dir, "blobs"));
    assert.deepEqual(store.list(), []);
    const { removeStaleTempFiles } = await import("../../../services/store/index.js");
    removeStaleTempFiles(dir);
    assert.deepEqual(readdirSync(dir).sort(), ["blobs", "model.safetensors"]);
    assert.ok(existsSync(target));
  });

  it("store - a blob store opened after a crash serves no half-written blob", async () => {
    const root = tempDir();
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "-e",
        `import { openBlobStore } from "./services/store/index.ts";
         const s = openBlobStore(${JSON.stringify(root)});
         async function* slow() { for (let i = 0; i < 256; i++) { yield Buffer.alloc(1 << 20, i); if (i === 2) process.stdout.write("writing\\n"); await new Promise((r) => setTimeout(r, 20)); } }
         await s.putStream(slow());`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const store = openBlobStore(root);
    assert.deepEqual(store.list(), []);
    assert.equal(existsSync(join(root, "staging")), false);
  });
});
