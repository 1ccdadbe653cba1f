import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { call, createSiteClient, pullModel, pushUpdate } from "../../site-agent/client.js";
import { createAdminClient } from "../../services/transport/index.js";
import { encodeRawSafetensors, type RawTensor } from "../../services/model/io/safetensors.js";
import { DELTA_META, parseCheckpoint } from "../../services/model/index.js";
import type { NextTaskResponse__Output } from "../../generated/medfcl/v1/NextTaskResponse.js";
import { testManifest } from "../helpers/federation.js";
import { startCoordinatorProcess } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp.js";

/**
 * A topk delta of `entries` (index, value) pairs that declares `declared` elements for `name`:
 * the indices are spread so that, decoded naively, every one lands on its own memory page.
 */
export function lyingTopk(name: string, declared: number, entries: number): Buffer {
  const idx = new Int32Array(entries);
  const stride = Math.floor(declared / entries);
  for (let i = 0; i < entries; i++) idx[i] = i * stride;
  const val = new Float32Array(entries).fill(1e-6);
  const raw = new Map<string, RawTensor>([
    [`${name}.__idx`, { dtype: "I32", shape: [entries], bytes: new Uint8Array(idx.buffer) }],
    [`${name}.__val`, { dtype: "F32", shape: [entries], bytes: new Uint8Array(val.buffer) }],
  ]);
  return encodeRawSafetensors(raw, { [DELTA_META.encoding]: "topk", [DELTA_META.shapes]: JSON.stringify({ [name]: [declared] }) });
}

describe("coordinator - bounded update decoding", () => {
  it("coordinator - a 1.9 MB topk upload declaring 250M elements is refused without the coordinator allocating them", async () => {
    const stateDir = tempDir("medfcl-bounds-");
    const coord = await startCoordinatorProcess(stateDir);
    const client = createSiteClient({ address: coord.address, insecure: true });
    const admin = createAdminClient(coord.address, { insecure: true });
    try {
      const reg = await call<object, { session_id: string }>(client.Register.bind(client), { site_id: "site-h", agent_version: "t", manifest: testManifest("dom-h"), backend: "wasm" });
      await admin.createRun({ model: "nano", name: "bounds", strategy: "sequential", sites: ["site-h"], seed: 1 });
      let task: NextTaskResponse__Output["task"] = null;
      while (!task) task = (await call<object, NextTaskResponse__Output>(client.NextTask.bind(client), { site_id: "site-h", session_id: reg.session_id, wait_ms: 5000 })).task;
      const base = parseCheckpoint(readFileSync(await pullModel(client, "site-h", task.base_version, join(stateDir, "..", `${task.base_version}.safetensors`))));
      // The header tells the truth about the base layout; the bytes declare a 250M-element tensor.
      const manifest = [...base.tensors].map(([name, t]) => ({ name, dtype: "F32", shape: t.shape }));
      const bytes = lyingTopk(manifest[0].name, 250_000_000, 237_000);
      assert.ok(bytes.length > 1.8e6 && bytes.length < 2e6, `upload is ${bytes.length} bytes`);
      const before = coord.rssKb();
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      await assert.rejects(
        pushUpdate(client, { site_id: "site-h", task_id: task.task_id, base_version: task.base_version, sha256, size: bytes.length, manifest: { tensors: manifest }, encoding: "DELTA_ENCODING_TOPK", num_samples: 1 }, bytes),
        (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && /shape \[250000000\]/.test(err.details),
      );
      const growthMb = (coord.peakRssKb() - before) / 1024;
      // A naive decode touches ~237k pages of a 1 GB array (~0.9 GB); a bounded one stays near the upload size.
      assert.ok(growthMb < 150, `coordinator peak RSS grew by ${growthMb.toFixed(0)} MB`);
    } finally {
      client.close();
      admin.close();
      await coord.stop();
    }
  });
});
