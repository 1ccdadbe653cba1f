/**
 * End to end in one process: a real coordinator (gRPC, SQLite, FedAvg; central evaluation stubbed
 * as in every protocol test) and two agents with the real site work (training, exemplar selection,
 * privacy pipeline) run a rehearsal run whose sites choose their exemplars with `loss-aware`.
 */
import { strict as assert } from "node:assert";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { agentSchema } from "../../services/config/index.js";
import { synthesizeSuite } from "../../services/data/index.js";
import { silentLogger } from "../../services/log/index.js";
import { createAdminClient } from "../../services/transport/index.js";
import { runAgent } from "../../site-agent/agent.js";
import { createSiteWork } from "../../site-agent/site-work.js";
import type { SiteWork } from "../../site-agent/types.js";
import { startTestCoordinator } from "../helpers/federation.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("medfcl-rehearsal-loss-aware-");

describe("site agent - rehearsal with the loss-aware site sampler", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("rehearsal - a run with site_sampler=loss-aware completes and the second step trains on the first site's exemplars", { timeout: 600_000 }, async () => {
    await synthesizeSuite({ suite: "polyp", out: dir, seed: 2, scale: "tiny", domains: ["kvasir", "clinicdb"] });
    // Training blocks this process's event loop, and with it the agents' heartbeats: a long interval
    // keeps the coordinator from counting a training site out.
    const coord = await startTestCoordinator({ evalSets: { kvasir: "/unused", clinicdb: "/unused" }, heartbeatIntervalMs: 20_000 });
    const abort = new AbortController();
    const replayed: number[] = [];
    const agents = ["kvasir", "clinicdb"].map(async (domain, i) => {
      const siteId = `site-${i + 1}`;
      const config = agentSchema.parse({ siteId, coordinator: coord.address, insecure: true, data: join(dir, domain, "train"), stateDir: join(dir, siteId), privacy: { siteSecret: "rehearsal-loss-aware-secret-01" } });
      const real = await createSiteWork(config, silentLogger());
      const work: SiteWork = {
        ...real,
        train: (task, base, replay, onProgress, signal) => {
          replayed.push(replay.length);
          return real.train(task, base, replay, onProgress, signal);
        },
      };
      return runAgent({ config, logger: silentLogger(), work, signal: abort.signal, maxTasks: 0 });
    });
    const admin = createAdminClient(coord.address, { insecure: true });
    try {
      let runId = "";
      while (!runId) {
        runId = await admin
          .createRun({
            name: "reh-loss-aware",
            strategy: "rehearsal",
            sites: ["site-1", "site-2"],
            seed: 3,
            model: "nano",
            options: { buffer: "4", mix: "0.5", site_sampler: "loss-aware" },
            hyperparameters: { lr: 2e-3, text_lr: 2e-4, epochs: 1, max_steps: 2, batch_size: 4, freeze_stages: 0, grad_clip: 5, seed: 3 },
          })
          .then((r) => r.run_id, () => "");
        if (!runId) await new Promise((r) => setTimeout(r, 200));
      }
      const run = await admin.waitForRun(runId, { pollMs: 300, timeoutMs: 500_000 });
      assert.equal(run.state, "completed", run.error);
    } finally {
      admin.close();
      abort.abort();
      await Promise.all(agents);
      await coord.close();
    }
    assert.deepEqual(replayed, [0, 4], "step 0 has no replay; step 1 trains with the 4 exemplars site-1 offered");
    const audit = readFileSync(join(dir, "site-1", "privacy", "audit-site-1.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { type: string });
    assert.equal(audit.filter((e) => e.type === "exemplar-export").length, 4);
  });
});
