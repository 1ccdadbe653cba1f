import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { call, createSiteClient, pullModel, pushUpdate } from "../../site-agent/client.js";
import { createAdminClient } from "../../services/transport/index.js";
import type { NextTaskResponse__Output } from "../../generated/medfcl/v1/NextTaskResponse.js";
import type { RunningCoordinator } from "../../coordinator/index.js";
import { constantDelta, encodedDelta, manifestOf, startTestCoordinator, testManifest } from "../helpers/federation.js";
import { tempDir } from "../helpers/temp.js";

async function trainStep(coord: RunningCoordinator, siteId: string, dir: string): Promise<string> {
  const client = createSiteClient({ address: coord.address, insecure: true });
  try {
    const reg = await call<object, { session_id: string }>(client.Register.bind(client), { site_id: siteId, agent_version: "t", manifest: testManifest(`dom-${siteId}`), backend: "wasm" });
    let task: NextTaskResponse__Output["task"] = null;
    while (!task) task = (await call<object, NextTaskResponse__Output>(client.NextTask.bind(client), { site_id: siteId, session_id: reg.session_id, wait_ms: 5000 })).task;
    const base = readFileSync(await pullModel(client, siteId, task.base_version, join(dir, siteId, "base.safetensors")));
    const delta = constantDelta(base, 1e-3);
    const bytes = encodedDelta(delta);
    await pushUpdate(client, { site_id: siteId, task_id: task.task_id, base_version: task.base_version, sha256: createHash("sha256").update(bytes).digest("hex"), size: bytes.length, manifest: { tensors: manifestOf(delta) }, encoding: "DELTA_ENCODING_FP32", num_samples: 5 }, bytes);
    return task.base_version;
  } finally {
    client.close();
  }
}

describe("coordinator - restart", () => {
  it("coordinator - a restarted coordinator resumes a run from SQLite and the blob store", async () => {
    const stateDir = tempDir("medfcl-resume-state-");
    const work = tempDir("medfcl-resume-work-");
    const evalSets = { "dom-site-a": "/unused", "dom-site-b": "/unused" };
    // Both sites register with the first coordinator so the run can be created.
    let coord = await startTestCoordinator({ stateDir, evalSets });
    let admin = createAdminClient(coord.address, { insecure: true });
    // A failed assertion still closes the coordinator, so the test process ends with its report.
    try {
      const reg = createSiteClient({ address: coord.address, insecure: true });
      for (const siteId of ["site-a", "site-b"]) {
        await call(reg.Register.bind(reg), { site_id: siteId, agent_version: "t", manifest: testManifest(`dom-${siteId}`), backend: "wasm" });
      }
      reg.close();
      const run = await admin.createRun({ model: "nano", name: "restart", strategy: "sequential", sites: ["site-a", "site-b"], seed: 1 });
      await trainStep(coord, "site-a", work);
      // Wait until step 0 is closed, then stop the coordinator while step 1 waits for site-b.
      for (const end = Date.now() + 60_000; ; ) {
        const r = await admin.getRun(run.run_id);
        if (r.steps.length === 2) break;
        assert.ok(Date.now() < end, `step 0 did not close within 60 s (steps: ${JSON.stringify(r.steps.map((x) => x.state))})`);
        await new Promise((res) => setTimeout(res, 50));
      }
      const before = await admin.getRun(run.run_id);
      admin.close();
      await coord.close();

      coord = await startTestCoordinator({ stateDir, evalSets });
      admin = createAdminClient(coord.address, { insecure: true });
      const step1Base = await trainStep(coord, "site-b", work);
      const final = await admin.waitForRun(run.run_id, { pollMs: 100, timeoutMs: 30_000 });
      assert.equal(final.state, "completed");
      assert.equal(final.steps[0].version, before.steps[0].version, "step 0 is kept, not retrained");
      assert.equal(step1Base, before.steps[0].version, "step 1 starts from step 0's model after the restart");
      const audit = await admin.getAudit(run.run_id);
      assert.equal(audit.lineage.length, 3, "base + one version per step, no duplicate base");
    } finally {
      admin.close();
      await coord.close();
    }
  });
});
