// Fault suite, site data: a site whose folder holds truncated images (a copy cut short). The agent
// finds them at start-up, names them to the coordinator, and trains on the rest: its step is not
// lost (no dropout), its update is aggregated, and the run completes. Real local training (nano,
// 64 px, a few steps) through the production agent and a real coordinator over gRPC.
import { strict as assert } from "node:assert";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { agentSchema } from "../../services/config/index.js";
import { loadCocoDataset, synthesizeSuite } from "../../services/data/index.js";
import { silentLogger } from "../../services/log/index.js";
import { createAdminClient } from "../../services/transport/index.js";
import * as store from "../../coordinator/store/index.js";
import { runAgent } from "../../site-agent/agent.js";
import { createSiteWork } from "../../site-agent/site-work.js";
import { TIME_SCALE } from "../helpers/fault-rig.js";
import { startTestCoordinator } from "../helpers/federation.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("medfcl-faults-data-");

describe("faults - bad images at a site", { timeout: 600_000 * TIME_SCALE }, () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("faults - a site with 3 truncated images names them to the coordinator and trains on the rest; its step is not lost", async () => {
    const suite = await synthesizeSuite({ suite: "polyp", out: join(dir, "suite"), seed: 11, scale: "tiny", domains: ["kvasir"] });
    const train = join(dir, "suite", suite.domains[0].splits.train!);
    const ds = await loadCocoDataset(train);
    const truncated = ds.images.slice(1, 4).map((im) => im.file_name);
    for (const f of truncated) {
      const bytes = readFileSync(join(train, f));
      writeFileSync(join(train, f), bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    }

    // Deadline and liveness far above a training's length: on a loaded machine the step must not
    // become a dropout for being slow, only (the bug this guards against) for a bad image.
    const coord = await startTestCoordinator({ heartbeatIntervalMs: 1000, heartbeatMisses: 1000, taskDeadlineMs: 900_000 * TIME_SCALE, evalSets: { kvasir: "/unused" } });
    const admin = createAdminClient(coord.address, { insecure: true });
    const abort = new AbortController();
    const config = agentSchema.parse({ siteId: "site-k", coordinator: coord.address, insecure: true, stateDir: join(dir, "agent"), data: train, domain: "kvasir", task: "polyp", trainEngine: "tfjs", backend: "cpu" });
    const work = await createSiteWork(config, silentLogger());
    const agent = runAgent({ config, logger: silentLogger(), work, signal: abort.signal, pollWaitMs: 500 });
    try {
      const run = await admin.createRun({ name: "bad-images", strategy: "sequential", sites: ["site-k"], seed: 3, model: "nano", hyperparameters: { input_size: 64, max_steps: 2, batch_size: 4, epochs: 1, seed: 3 } });
      assert.equal((await admin.waitForRun(run.run_id, { pollMs: 200, timeoutMs: 480_000 * TIME_SCALE })).state, "completed");
      const tasks = store.tasksOfRun(coord.ctx.db, run.run_id);
      assert.deepEqual(tasks.map((t) => t.state), ["done"], `the site's step is not a dropout (${tasks.map((t) => t.reason).join("; ")})`);
      const [update] = store.updatesForRun(coord.ctx.db, run.run_id);
      assert.equal(update.accepted, true);
      assert.equal(update.numSamples, ds.images.length - 3, "trained on the rest");
      assert.equal(store.getSite(coord.ctx.db, "site-k")!.manifest.num_images, ds.images.length - 3);
      const notes = store.notesOfSite(coord.ctx.db, "site-k").map((n) => n.note);
      for (const f of truncated) assert.ok(notes.some((n) => n.startsWith(`bad image ${f} `)), `the coordinator's notes name ${f}:\n${notes.join("\n")}`);
      assert.equal((await admin.getAudit(run.run_id)).lineage.length, 2, "the step produced a model");
    } finally {
      abort.abort();
      await agent;
      admin.close();
      await coord.close();
    }
  });
});
