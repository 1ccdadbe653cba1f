// Secure aggregation through a real coordinator (gRPC, SQLite, the round runner): five sites run
// the SecAgg+ client (services/secagg) over SiteService with deltas the test knows, so the
// coordinator's unmasked weighted mean can be compared with plain FedAvg of the same deltas, and
// sites can be "killed" (they stop heartbeating and never reveal) at chosen points.
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createAdminClient } from "../../services/transport/index.js";
import { call, createSiteClient, pullModel, pushUpdate } from "../../site-agent/client.js";
import { SecAggSession } from "../../site-agent/secure-aggregation.js";
import { silentLogger } from "../../services/log/index.js";
import type { RunningCoordinator } from "../../coordinator/index.js";
import * as store from "../../coordinator/store/index.js";
import { parseCheckpoint } from "../../services/model/index.js";
import { ELEMENT_BYTES } from "../../services/secagg/index.js";
import { weightedMeanDeltas } from "../../coordinator/strategies/utils.js";
import type { NextTaskResponse__Output } from "../../generated/medfcl/v1/NextTaskResponse.js";
import type { TrainTask__Output } from "../../generated/medfcl/v1/TrainTask.js";
import type { SiteServiceClient } from "../../generated/medfcl/v1/SiteService.js";
import { mapTensors, type TensorMap } from "../../services/tensors/index.js";
import { encodedDelta, manifestOf, startTestCoordinator, testManifest } from "../helpers/federation.js";
import { tempDir } from "../helpers/temp.js";

const SITES = ["site-1", "site-2", "site-3", "site-4", "site-5"];
const IMAGES = [10, 20, 30, 40, 50];

/** A deterministic delta per site, of realistic size (1e-3). */
function deltaFor(base: TensorMap, i: number): TensorMap {
  return mapTensors(base, (t, name) => Float32Array.from(t.data, (_, k) => 1e-3 * Math.sin(k * 0.37 + i * 1.9 + name.length)));
}

interface Site {
  id: string;
  client: SiteServiceClient;
  beat: NodeJS.Timeout;
  kill(): void;
}

async function startSite(coord: RunningCoordinator, id: string, images: number): Promise<Site> {
  const client = createSiteClient({ address: coord.address, insecure: true });
  const { session_id } = await call<object, { session_id: string }>(client.Register.bind(client), { site_id: id, agent_version: "test", manifest: testManifest(`dom-${id}`, images), backend: "wasm" });
  const beat = setInterval(() => void call(client.Heartbeat.bind(client), { site_id: id, session_id, state: "idle", task_id: "", progress: 0, loss: 0 }).catch(() => undefined), 100);
  return { id, client, beat, kill: () => (clearInterval(beat), client.close()) };
}

describe("coordinator - secure aggregation of a FedAvg round", () => {
  const coords: RunningCoordinator[] = [];
  after(async () => {
    for (const c of coords) await c.close();
  });

  /**
   * One joint round with SecAgg+: every site masks; `killAfterMasking` stop right after their
   * masked upload (no heartbeat, no reveal). Returns the run, the plain FedAvg of the same deltas and
   * the coordinator's new model.
   */
  async function secureRound(killAfterMasking: string[]) {
    // Liveness reaches SQLite once a second (ctx.liveness), and masking five updates in this one
    // process holds its event loop for seconds: silence means 8 s here.
    const coord = await startTestCoordinator({ heartbeatIntervalMs: 200, heartbeatMisses: 40 });
    coords.push(coord);
    const sites = await Promise.all(SITES.map((id, i) => startSite(coord, id, IMAGES[i])));
    const sessions = new Map<string, string>();
    for (const s of sites) sessions.set(s.id, store.getSite(coord.ctx.db, s.id)!.sessionId);
    const admin = createAdminClient(coord.address, { insecure: true });
    const run = await admin.createRun({ model: "nano", name: `sa-${killAfterMasking.length}`, strategy: "joint", sites: SITES, seed: 1, secure_aggregation: true, secure_aggregation_threshold: 3, hyperparameters: { epochs: 1 } });
    const dir = tempDir("medfcl-sa-");
    const plain: { siteId: string; delta: TensorMap; numSamples: number }[] = [];
    let base: Buffer = Buffer.alloc(0);
    const uploads: Buffer[] = [];
    await Promise.all(
      sites.map(async (s, i) => {
        let task: TrainTask__Output | null = null;
        for (let attempt = 0; !task; attempt++) {
          if (attempt > 30) throw new Error(`${s.id} got no task`);
          task = (await call<object, NextTaskResponse__Output>(s.client.NextTask.bind(s.client), { site_id: s.id, session_id: sessions.get(s.id), wait_ms: 2000 })).task ?? null;
        }
        assert.ok(task.secure_aggregation, "the task carries the round's SecAgg+ plan");
        const abort = new AbortController();
        const sa = await SecAggSession.setup(s.client, s.id, task, silentLogger(), abort.signal);
        base = readFileSync(await pullModel(s.client, s.id, task.base_version, join(dir, s.id, "base.safetensors")));
        const delta = deltaFor(parseCheckpoint(base).tensors, i);
        plain.push({ siteId: s.id, delta, numSamples: IMAGES[i] });
        const masked = sa.mask(encodedDelta(delta), IMAGES[i]);
        uploads.push(masked);
        await pushUpdate(s.client, { site_id: s.id, task_id: task.task_id, base_version: task.base_version, sha256: createHash("sha256").update(masked).digest("hex"), size: masked.length, manifest: { tensors: manifestOf(delta) }, encoding: "DELTA_ENCODING_FP32", num_samples: IMAGES[i], metrics: [], masked: true }, masked);
        if (killAfterMasking.includes(s.id)) return s.kill();
        await sa.unmask(abort.signal);
      }),
    );
    const done = await admin.waitForRun(run.run_id, { pollMs: 100, timeoutMs: 60_000 });
    admin.close();
    for (const s of sites) if (!killAfterMasking.includes(s.id)) s.kill();
    const version = done.current_version ? readFileSync(coord.ctx.blobs.pathOf(done.current_version)) : null;
    return { done, plain, base, version, coord, uploads };
  }

  function maxAbsDiff(base: Buffer, version: Buffer, plain: { siteId: string; delta: TensorMap; numSamples: number }[]): number {
    const expected = weightedMeanDeltas(plain);
    const b = parseCheckpoint(base).tensors;
    const v = parseCheckpoint(version).tensors;
    let max = 0;
    for (const [name, t] of v) {
      const e = expected.get(name)!.data;
      const bb = b.get(name)!.data;
      for (let k = 0; k < t.data.length; k++) max = Math.max(max, Math.abs(t.data[k] - (bb[k] + e[k])));
    }
    return max;
  }

  it("secure aggregation - five sites, t = 3: the new model is plain FedAvg's within fixed-point error, and what the coordinator stores of one update is uniform bytes", async (t) => {
    const { done, plain, base, version, coord, uploads } = await secureRound([]);
    assert.equal(done.state, "completed", done.error);
    const err = maxAbsDiff(base, version!, plain);
    // Five roundings of 2^-25 each, divided by the summed weight (1), plus float32 storage.
    assert.ok(err < 1e-6, `max |Δ| = ${err}`);
    t.diagnostic(`max |Δ| between the secure and the plain FedAvg model: ${err}`);
    // The coordinator's copy of site-1's update: a masked vector, 6 bytes per weight, uniform.
    const update = store.updatesForRun(coord.ctx.db, done.run_id).find((u) => u.siteId === "site-1")!;
    const stored = readFileSync(coord.ctx.blobs.pathOf(update.updateId));
    assert.deepEqual(stored, uploads.find((u) => createHash("sha256").update(u).digest("hex") === update.updateId));
    assert.equal(stored.length % ELEMENT_BYTES, 0);
    const counts = new Array(256).fill(0);
    for (const x of stored) counts[x]++;
    const e = stored.length / 256;
    const chi2 = counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
    assert.ok(chi2 < 330.5, `chi-square ${chi2.toFixed(1)} over 255 degrees of freedom (p = 0.001 bound 330.5)`);
    assert.equal(update.norm, null, "the coordinator cannot compute a norm of a masked update");
  });

  it("secure aggregation - one or two sites killed after masking: the round still yields the weighted mean of all five", async () => {
    for (const killed of [["site-2"], ["site-1", "site-4"]]) {
      const { done, plain, base, version } = await secureRound(killed);
      assert.equal(done.state, "completed", done.error);
      assert.ok(maxAbsDiff(base, version!, plain) < 1e-6, `killed ${killed}`);
    }
  });

  it("secure aggregation - three sites killed after masking: the round fails and says why", async () => {
    const { done } = await secureRound(["site-1", "site-3", "site-5"]);
    assert.equal(done.state, "failed");
    assert.deepEqual(done.steps.map((s) => s.state), ["failed"], "the failed run's step ends as failed, not left in training");
    assert.match(done.error, /secure aggregation of step 0 round 0 failed: the self mask of site-\d: 2 shares arrived, the threshold is 3; 2 of 5 surviving sites revealed their shares \(site-1, site-3, site-5 gone after masking\), threshold 3/);
  });

  it("secure aggregation - refused where it cannot protect a site: rounds of one site (sequential), other delta encodings", async () => {
    const coord = await startTestCoordinator();
    coords.push(coord);
    const sites = await Promise.all(SITES.slice(0, 3).map((id, i) => startSite(coord, id, IMAGES[i])));
    const admin = createAdminClient(coord.address, { insecure: true });
    await assert.rejects(admin.createRun({ model: "nano", name: "seq", strategy: "sequential", sites: SITES.slice(0, 3), secure_aggregation: true }), /at least 3 sites in every round/);
    await assert.rejects(admin.createRun({ model: "nano", name: "fp16", strategy: "joint", sites: SITES.slice(0, 3), secure_aggregation: true, delta_encoding: "DELTA_ENCODING_FP16" }), /delta_encoding must be fp32/);
    admin.close();
    for (const s of sites) s.kill();
  });
});
