import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { after, before, describe, it } from "node:test";
import { call, createSiteClient, pullModel, pushUpdate } from "../../site-agent/client.js";
import { createAdminClient, type AdminClient } from "../../services/transport/index.js";
import type { RunningCoordinator } from "../../coordinator/index.js";
import type { SiteServiceClient } from "../../generated/medfcl/v1/SiteService.js";
import type { TrainTask__Output } from "../../generated/medfcl/v1/TrainTask.js";
import type { NextTaskResponse__Output } from "../../generated/medfcl/v1/NextTaskResponse.js";
import { constantDelta, encodedDelta, manifestOf, startTestCoordinator, testManifest } from "../helpers/federation.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/temp.js";

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

async function nextTask(client: SiteServiceClient, siteId: string, session: string): Promise<TrainTask__Output> {
  for (;;) {
    const res = await call<object, NextTaskResponse__Output>(client.NextTask.bind(client), { site_id: siteId, session_id: session, wait_ms: 5000 });
    if (res.task) return res.task;
  }
}

describe("coordinator - update validation", () => {
  let coord: RunningCoordinator;
  let admin: AdminClient;
  const sites = ["site-a", "site-b", "site-c", "site-d"];
  const clients = new Map<string, SiteServiceClient>();
  const sessions = new Map<string, string>();
  const dir = tempDir("medfcl-upd-");

  before(async () => {
    coord = await startTestCoordinator({ evalSets: Object.fromEntries(sites.map((s) => [`dom-${s}`, "/unused"])) });
    admin = createAdminClient(coord.address, { insecure: true });
    for (const s of sites) {
      const c = createSiteClient({ address: coord.address, insecure: true });
      clients.set(s, c);
      const reg = await call<object, { session_id: string }>(c.Register.bind(c), { site_id: s, agent_version: "test", manifest: testManifest(`dom-${s}`), backend: "wasm" });
      sessions.set(s, reg.session_id);
    }
  });

  after(async () => {
    for (const c of clients.values()) c.close();
    admin.close();
    await coord.close();
  });

  /** Each site in turn gets its step's task; the first three send a bad update, the last a good one. */
  it("coordinator - NaN, wrong-shape and manifest-mismatch deltas are rejected with INVALID_ARGUMENT and the run goes on", async () => {
    const run = await admin.createRun({ model: "nano", name: "validation", strategy: "sequential", sites, seed: 1, hyperparameters: { epochs: 1 } });
    const statuses: Record<string, number | string> = {};
    for (const s of sites) {
      const client = clients.get(s)!;
      const task = await nextTask(client, s, sessions.get(s)!);
      const basePath = await pullModel(client, s, task.base_version, join(dir, s, "base.safetensors"));
      const base = readFileSync(basePath);
      let delta = constantDelta(base, 1e-3);
      let manifest = manifestOf(delta);
      if (s === "site-a") {
        const first = delta.values().next().value!;
        first.data[0] = Number.NaN;
      } else if (s === "site-b") {
        // The header claims the right manifest; the bytes hold a tensor of another shape.
        const [name, t] = [...delta][0];
        delta = new Map(delta);
        delta.set(name, { dtype: "float32", shape: [t.data.length + 1], data: new Float32Array(t.data.length + 1) });
      } else if (s === "site-c") {
        manifest = manifest.map((m, i) => (i === 0 ? { ...m, shape: [...m.shape, 2] } : m));
      }
      const bytes = encodedDelta(delta);
      try {
        const res = await pushUpdate(client, { site_id: s, task_id: task.task_id, base_version: task.base_version, sha256: sha(bytes), size: bytes.length, manifest: { tensors: manifest }, encoding: "DELTA_ENCODING_FP32", num_samples: 10 }, bytes);
        statuses[s] = res.accepted ? "accepted" : "not accepted";
      } catch (err) {
        statuses[s] = (err as grpc.ServiceError).code;
        if (s !== "site-d") assert.match((err as grpc.ServiceError).details, s === "site-a" ? /NaN/ : s === "site-b" ? /shape/ : /manifest/);
      }
    }
    assert.deepEqual(statuses, { "site-a": grpc.status.INVALID_ARGUMENT, "site-b": grpc.status.INVALID_ARGUMENT, "site-c": grpc.status.INVALID_ARGUMENT, "site-d": "accepted" });
    const final = await admin.waitForRun(run.run_id, { pollMs: 100, timeoutMs: 30_000 });
    assert.equal(final.state, "completed");
    assert.equal(final.steps.length, 4);
    assert.deepEqual(final.steps.map((st) => st.dropouts), [["site-a"], ["site-b"], ["site-c"], []]);
    const audit = await admin.getAudit(run.run_id);
    assert.deepEqual(audit.rejected_updates.map((r) => r.site_id), ["site-a", "site-b", "site-c"]);
    // Three rejected steps kept their parent; the last one produced a new version.
    assert.equal(audit.lineage.filter((v) => v.step >= 0).length, 1);
  });

  it("coordinator - a corrupted upload is refused with DATA_LOSS", async () => {
    const run = await admin.createRun({ model: "nano", name: "dataloss", strategy: "sequential", sites: ["site-a"], seed: 2 });
    const client = clients.get("site-a")!;
    const task = await nextTask(client, "site-a", sessions.get("site-a")!);
    const base = readFileSync(await pullModel(client, "site-a", task.base_version, join(dir, "dl", "base.safetensors")));
    const delta = constantDelta(base, 1e-3);
    const bytes = encodedDelta(delta);
    await assert.rejects(
      pushUpdate(client, { site_id: "site-a", task_id: task.task_id, base_version: task.base_version, sha256: sha(Buffer.from("other")), size: bytes.length, manifest: { tensors: manifestOf(delta) }, encoding: "DELTA_ENCODING_FP32", num_samples: 1 }, bytes),
      (err: grpc.ServiceError) => err.code === grpc.status.DATA_LOSS,
    );
    // The task stays open: the same site can retry with the right digest.
    const ok = await pushUpdate(client, { site_id: "site-a", task_id: task.task_id, base_version: task.base_version, sha256: sha(bytes), size: bytes.length, manifest: { tensors: manifestOf(delta) }, encoding: "DELTA_ENCODING_FP32", num_samples: 1 }, bytes);
    assert.equal(ok.accepted, true);
    assert.equal((await admin.waitForRun(run.run_id, { pollMs: 100, timeoutMs: 30_000 })).state, "completed");
  });

  it("coordinator - an upload that declares no size is validated from its blob file: NaN refused, a good delta accepted with its norm", async () => {
    const run = await admin.createRun({ model: "nano", name: "no-size", strategy: "sequential", sites: ["site-c"], seed: 4 });
    const client = clients.get("site-c")!;
    const task = await nextTask(client, "site-c", sessions.get("site-c")!);
    const base = readFileSync(await pullModel(client, "site-c", task.base_version, join(dir, "nosize", "base.safetensors")));
    const header = (bytes: Buffer, delta: ReturnType<typeof constantDelta>) => ({ site_id: "site-c", task_id: task.task_id, base_version: task.base_version, sha256: sha(bytes), size: 0, manifest: { tensors: manifestOf(delta) }, encoding: "DELTA_ENCODING_FP32" as const, num_samples: 1 });
    const bad = constantDelta(base, 1e-3);
    [...bad.values()][1].data[0] = NaN;
    const badBytes = encodedDelta(bad);
    await assert.rejects(pushUpdate(client, header(badBytes, bad), badBytes), (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && /NaN/.test(err.details) && err.details.includes([...bad.keys()][1]));
    void run;
    const run2 = await admin.createRun({ model: "nano", name: "no-size-ok", strategy: "sequential", sites: ["site-c"], seed: 5 });
    const task2 = await nextTask(client, "site-c", sessions.get("site-c")!);
    const base2 = readFileSync(await pullModel(client, "site-c", task2.base_version, join(dir, "nosize", "base2.safetensors")));
    const good = constantDelta(base2, 1e-3);
    const goodBytes = encodedDelta(good);
    const ok = await pushUpdate(client, { ...header(goodBytes, good), task_id: task2.task_id, base_version: task2.base_version }, goodBytes);
    assert.equal(ok.accepted, true);
    const row = coord.ctx.db.prepare("SELECT norm FROM updates WHERE update_id = ? AND accepted = 1").get(sha(goodBytes)) as { norm: number };
    let s = 0;
    for (const t of good.values()) for (const v of t.data) s += v * v;
    assert.equal(row.norm, Math.sqrt(s));
    assert.equal((await admin.waitForRun(run2.run_id, { pollMs: 100, timeoutMs: 30_000 })).state, "completed");
  });

  it("coordinator - a site cannot push for another site's task", async () => {
    const run = await admin.createRun({ model: "nano", name: "foreign-task", strategy: "sequential", sites: ["site-b"], seed: 3 });
    const task = await nextTask(clients.get("site-b")!, "site-b", sessions.get("site-b")!);
    const bytes = Buffer.from("x");
    await assert.rejects(
      pushUpdate(clients.get("site-a")!, { site_id: "site-a", task_id: task.task_id, base_version: task.base_version, sha256: sha(bytes), size: 1, manifest: { tensors: [] }, encoding: "DELTA_ENCODING_FP32", num_samples: 1 }, bytes),
      (err: grpc.ServiceError) => err.code === grpc.status.PERMISSION_DENIED,
    );
    await assert.rejects(
      pullModel(clients.get("site-c")!, "site-c", task.base_version, join(dir, "foreign", "m.safetensors"), { maxAttempts: 1 }),
      /PERMISSION_DENIED|no task based on model/,
    );
    void run;
  });
});
