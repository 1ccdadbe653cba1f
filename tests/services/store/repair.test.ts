import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { BlobSizeMismatchError, openBlobStore, sha256Hex } from "../../../services/store/index.js";
import { call, createSiteClient, pullModel, pushUpdate } from "../../../site-agent/client.js";
import { createAdminClient } from "../../../services/transport/index.js";
import type { NextTaskResponse__Output } from "../../../generated/medfcl/v1/NextTaskResponse.js";
import { constantDelta, encodedDelta, manifestOf, startTestCoordinator, testManifest } from "../../helpers/federation.js";
import { runCli } from "../../helpers/processes.js";
import { tempDir as sharedTempDir } from "../../helpers/temp.js";

const tempDir = (): string => sharedTempDir("medfcl-repair-");

async function* chunks(...parts: string[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.from(p);
}

describe("store - repair", () => {
  it("store - put() of the correct bytes replaces a blob that went corrupt", () => {
    const store = openBlobStore(tempDir());
    const sha = store.put(Buffer.from("model weights"));
    writeFileSync(store.pathOf(sha), "model weightz");
    assert.throws(() => store.get(sha), /corrupt/);
    assert.equal(store.put(Buffer.from("model weights")), sha);
    assert.equal(store.get(sha).toString(), "model weights");
  });

  it("store - an upload whose size differs from the announced one leaves nothing, even with the right digest", async () => {
    const store = openBlobStore(tempDir());
    await assert.rejects(store.putStream(chunks("abc", "def"), sha256Hex("abcdef"), 7), (err) => err instanceof BlobSizeMismatchError && /6 bytes, but 7 were announced/.test(err.message));
    assert.deepEqual(store.list(), []);
  });

  it("store - `medfcl store verify` reports corrupt blobs (exit 1) and leaves a live upload in staging alone", async () => {
    const root = tempDir();
    const store = openBlobStore(root);
    const good = store.put(Buffer.from("good"));
    const bad = store.put(Buffer.from("bad"));
    writeFileSync(store.pathOf(bad), "bat");
    mkdirSync(join(root, "staging"), { recursive: true });
    writeFileSync(join(root, "staging", "in-flight"), "half");
    const r = await runCli(["store", "verify", root]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, new RegExp(`CORRUPT ${bad}`));
    assert.doesNotMatch(r.stdout, new RegExp(`CORRUPT ${good}`));
    assert.match(r.stdout, /2 blobs \(4 bytes verified\), 1 corrupt, 1 upload\(s\) in staging/);
    assert.ok(existsSync(join(root, "staging", "in-flight")), "verify is read-only");
    store.put(Buffer.from("bad"));
    const again = await runCli(["store", "verify", root]);
    assert.equal(again.code, 0, again.stdout);
  });

  it("coordinator - an upload refused for a size mismatch or by validation leaves no blob behind", async () => {
    const coord = await startTestCoordinator({ evalSets: { "dom-r": "/unused" } });
    const client = createSiteClient({ address: coord.address, insecure: true });
    const admin = createAdminClient(coord.address, { insecure: true });
    try {
      const reg = await call<object, { session_id: string }>(client.Register.bind(client), { site_id: "site-r", agent_version: "t", manifest: testManifest("dom-r"), backend: "wasm" });
      await admin.createRun({ model: "nano", name: "repair", strategy: "sequential", sites: ["site-r"], seed: 1 });
      let task: NextTaskResponse__Output["task"] = null;
      while (!task) task = (await call<object, NextTaskResponse__Output>(client.NextTask.bind(client), { site_id: "site-r", session_id: reg.session_id, wait_ms: 5000 })).task;
      const base = readFileSync(await pullModel(client, "site-r", task.base_version, join(tempDir(), "base.safetensors")));
      const delta = constantDelta(base, 1e-3);
      const bytes = encodedDelta(delta);
      const sha = createHash("sha256").update(bytes).digest("hex");
      const header = { site_id: "site-r", task_id: task.task_id, base_version: task.base_version, sha256: sha, manifest: { tensors: manifestOf(delta) }, encoding: "DELTA_ENCODING_FP32" as const, num_samples: 3 };
      await assert.rejects(pushUpdate(client, { ...header, size: bytes.length + 8 }, bytes), (err: grpc.ServiceError) => err.code === grpc.status.DATA_LOSS && /were announced; nothing was stored/.test(err.details));
      assert.equal(coord.ctx.blobs.has(sha), false, "the size-mismatched bytes are not in the store");
      // A delta that decodes but fails validation (NaN) is refused, and its bytes go too.
      delta.values().next().value!.data[0] = Number.NaN;
      const nan = encodedDelta(delta);
      const nanSha = createHash("sha256").update(nan).digest("hex");
      await assert.rejects(pushUpdate(client, { ...header, sha256: nanSha, size: nan.length }, nan), (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT);
      assert.equal(coord.ctx.blobs.has(nanSha), false, "the refused delta's bytes are not kept");
      assert.equal((coord.ctx.db.prepare("SELECT COUNT(*) AS n FROM updates WHERE update_id = ? AND accepted = 0").get(nanSha) as { n: number }).n, 1, "the refusal is recorded");
    } finally {
      client.close();
      admin.close();
      await coord.close();
    }
  });
});
