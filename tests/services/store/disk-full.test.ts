// Durable writes on a nearly full filesystem: each is complete or absent, and says why it failed.
// A real tmpfs (needs root; skipped with a message elsewhere, required under CI=true).
import { strict as assert } from "node:assert";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { appendAuditEntry, auditLogPath, verifyAuditLog } from "../../../services/privacy/audit.js";
import { openBlobStore, sha256Hex, StorageWriteError, writeFileAtomic, writeFileAtomicSync } from "../../../services/store/index.js";
import { readSpool, writeSpool } from "../../../site-agent/spool.js";
import { mountTmpfs, tmpfsSkipReason, type SmallFs } from "../../helpers/tmpfs.js";

const MB = 1024 * 1024;

const isFull = (err: unknown): boolean => err instanceof StorageWriteError && err.errno === "ENOSPC" && err.code === "RESOURCE_EXHAUSTED";

/** Every name under `dir`, recursively (temp files included), minus the filler. */
function names(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((n) => n !== ".filler" && !statSync(join(dir, n)).isDirectory());
}

function pseudoRandom(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = ((i + seed) * 2654435761) >>> 24;
  return b;
}

describe("store - durable writes on a full disk", { skip: tmpfsSkipReason() }, () => {
  let fs: SmallFs;
  before(() => (fs = mountTmpfs(20 * MB)));
  after(() => fs?.close());

  it("store - the short-write reproduction (800 000 bytes into 400 KB free) throws a typed error and leaves no file", () => {
    const path = join(fs.dir, "short", "model.bin");
    writeFileAtomicSync(join(fs.dir, "short", "keep"), "x"); // the directory exists before the disk fills
    fs.fill(400 * 1024);
    try {
      assert.throws(() => writeFileAtomicSync(path, Buffer.alloc(800_000)), isFull);
      assert.equal(existsSync(path), false, "no file at the path");
      assert.deepEqual(names(join(fs.dir, "short")), ["keep"], "no temp file left behind");
      assert.ok(fs.freeBytes() >= 400 * 1024 - 4096, "the space the partial temp file took is given back");
    } finally {
      fs.unfill();
    }
    writeFileAtomicSync(path, Buffer.alloc(800_000));
    assert.equal(statSync(path).size, 800_000, "with space back, the same write completes");
  });

  it("store - an earlier file at the path is kept whole when its replacement does not fit", () => {
    const path = join(fs.dir, "keep-old.json");
    writeFileAtomicSync(path, "old");
    fs.fill(100 * 1024);
    try {
      assert.throws(() => writeFileAtomicSync(path, Buffer.alloc(500_000)), isFull);
    } finally {
      fs.unfill();
    }
    assert.equal(statSync(path).size, 3);
  });

  it("store - a streamed write (writev batches) that runs out of space throws a typed error and leaves nothing", async () => {
    const path = join(fs.dir, "stream", "blob");
    writeFileAtomicSync(join(fs.dir, "stream", "keep"), "x");
    fs.fill(600 * 1024);
    try {
      async function* pieces(): AsyncGenerator<Buffer> {
        for (let i = 0; i < 40; i++) yield Buffer.alloc(64 * 1024, i);
      }
      await assert.rejects(writeFileAtomic(path, pieces()), isFull);
      assert.deepEqual(names(join(fs.dir, "stream")), ["keep"]);
    } finally {
      fs.unfill();
    }
  });

  it("store - a blob that does not fit is never visible at its address, put or streamed; it is stored once space returns", async () => {
    const store = openBlobStore(join(fs.dir, "blobs"));
    const data = pseudoRandom(900_000, 1);
    const sha = sha256Hex(data);
    fs.fill(300 * 1024);
    try {
      assert.throws(() => store.put(data), isFull);
      async function* chunks(): AsyncGenerator<Buffer> {
        for (let at = 0; at < data.length; at += 65_536) yield data.subarray(at, at + 65_536);
      }
      await assert.rejects(store.putStream(chunks(), sha, data.length), isFull);
      assert.deepEqual(store.list(), []);
      assert.equal(store.has(sha), false);
      assert.deepEqual(names(join(fs.dir, "blobs")), [], "nothing in staging or the shards");
    } finally {
      fs.unfill();
    }
    assert.equal(store.put(data), sha);
    assert.deepEqual(store.get(sha), data);
  });

  it("store - a spool entry that does not fit leaves no part of itself", () => {
    const stateDir = join(fs.dir, "agent");
    const delta = pseudoRandom(800_000, 2);
    const header = { site_id: "s", task_id: "t1", base_version: "b".repeat(64), sha256: sha256Hex(delta), size: delta.length };
    writeFileAtomicSync(join(stateDir, "spool", "keep"), "x");
    fs.fill(200 * 1024);
    try {
      assert.throws(() => writeSpool(stateDir, header, delta), isFull);
      assert.deepEqual(names(join(stateDir, "spool")), ["keep"]);
      assert.equal(readSpool(stateDir, "t1"), null);
    } finally {
      fs.unfill();
    }
  });

  it("store - a privacy audit entry that does not fit is cut back, and the log still verifies", () => {
    const stateDir = join(fs.dir, "privacy-state");
    const path = auditLogPath(stateDir, "site-a");
    const entry = (n: number) => ({ type: "dp-spend" as const, site: "site-a", time: new Date(0).toISOString(), taskId: `t${n}`, epsilon: 0.1, totalEpsilon: 0.1 * n, delta: 1e-5, noiseMultiplier: 1, sampleRate: 0.1, steps: 10 });
    appendAuditEntry(path, entry(1));
    appendAuditEntry(path, entry(2));
    const before = statSync(path).size;
    fs.fill(0);
    try {
      // An entry far larger than the room left in the log's last page: part of it is written (a
      // short write), then the disk is full.
      assert.throws(() => appendAuditEntry(path, { ...entry(3), taskId: "t3".padEnd(64 * 1024, "x") }), isFull);
    } finally {
      fs.unfill();
    }
    assert.equal(statSync(path).size, before, "the torn entry is cut back");
    assert.deepEqual(verifyAuditLog(path), { ok: true, entries: 2 });
    appendAuditEntry(path, entry(3));
    assert.deepEqual(verifyAuditLog(path), { ok: true, entries: 3 });
  });
});
