import { strict as assert } from "node:assert";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { agentSchema } from "../../services/config/index.js";
import { silentLogger } from "../../services/log/index.js";
import { createAdminClient } from "../../services/transport/index.js";
import { runAgent } from "../../site-agent/agent.js";
import { TaskRefusedError } from "../../site-agent/errors.js";
import type { SiteWork } from "../../site-agent/types.js";
import * as db from "../../coordinator/db.js";
import { startTestCoordinator, testManifest } from "../helpers/federation.js";

describe("site agent - refusing or failing a task", () => {
  it("agent - a task over the site's privacy budget is refused, said so, and recorded by the coordinator", async () => {
    const coord = await startTestCoordinator({ evalSets: { "dom-site-p": "/unused" } });
    // Training is not reached: the budget check refuses first (the ε ledger itself is tested in privacy/dp.test.ts).
    const work: SiteWork = {
      manifest: () => testManifest("dom-site-p"),
      checkTask: () => {
        throw new TaskRefusedError("site site-p: this task would spend ε 12.00 > budget 10");
      },
      train: () => Promise.reject(new Error("must not train a refused task")),
      offerExemplars: () => Promise.resolve([]),
    };
    const config = agentSchema.parse({ siteId: "site-p", coordinator: coord.address, insecure: true, stateDir: mkdtempSync(join(tmpdir(), "medfcl-refuse-")) });
    const abort = new AbortController();
    const agent = runAgent({ config, logger: silentLogger(), work, signal: abort.signal, maxTasks: 0 });
    const admin = createAdminClient(coord.address, { insecure: true });
    let runId = "";
    while (!runId) {
      runId = await admin.createRun({ name: "refused", strategy: "sequential", sites: ["site-p"], seed: 1 }).then((r) => r.run_id, () => "");
      if (!runId) await new Promise((r) => setTimeout(r, 100));
    }
    const run = await admin.waitForRun(runId, { pollMs: 100, timeoutMs: 30_000 });
    abort.abort();
    await agent;
    admin.close();
    assert.equal(run.state, "completed", "a refusal is a dropout, not a failure, under the skip policy");
    assert.deepEqual(run.steps[0].dropouts, ["site-p"]);
    const task = db.tasksOfRun(coord.ctx.db, runId)[0];
    assert.equal(task.state, "refused");
    assert.match(task.reason ?? "", /budget/);
    const notes = coord.ctx.db.prepare("SELECT note FROM notes WHERE site_id = 'site-p'").all() as { note: string }[];
    assert.ok(notes.some((n) => /refused: .*budget/.test(n.note)));
    await coord.close();
  });

  it("agent - a task whose training throws is reported failed once, not handed back, and the site drops out", async () => {
    const coord = await startTestCoordinator({ evalSets: { "dom-site-f": "/unused" } });
    let attempts = 0;
    const work: SiteWork = {
      manifest: () => testManifest("dom-site-f"),
      checkTask: () => undefined,
      train: () => {
        attempts++;
        return Promise.reject(new Error("maxTokens: the caption needs 34 tokens but the model takes 32"));
      },
      offerExemplars: () => Promise.resolve([]),
    };
    const config = agentSchema.parse({ siteId: "site-f", coordinator: coord.address, insecure: true, stateDir: mkdtempSync(join(tmpdir(), "medfcl-fail-")) });
    const abort = new AbortController();
    const agent = runAgent({ config, logger: silentLogger(), work, signal: abort.signal, maxTasks: 0 });
    const admin = createAdminClient(coord.address, { insecure: true });
    let runId = "";
    while (!runId) {
      runId = await admin.createRun({ name: "failing", strategy: "sequential", sites: ["site-f"], seed: 1 }).then((r) => r.run_id, () => "");
      if (!runId) await new Promise((r) => setTimeout(r, 100));
    }
    const run = await admin.waitForRun(runId, { pollMs: 100, timeoutMs: 30_000 });
    abort.abort();
    await agent;
    admin.close();
    assert.equal(run.state, "completed");
    assert.deepEqual(run.steps[0].dropouts, ["site-f"]);
    const task = db.tasksOfRun(coord.ctx.db, runId)[0];
    assert.equal(task.state, "failed");
    assert.match(task.reason ?? "", /^failed: maxTokens/);
    assert.equal(attempts, 1, "the failed task was not delivered again");
    await coord.close();
  });
});
