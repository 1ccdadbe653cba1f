import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { agentSchema } from "../../services/config/index.js";
import { silentLogger } from "../../services/log/index.js";
import { createAdminClient } from "../../services/transport/index.js";
import { runAgent } from "../../site-agent/agent.js";
import { TaskRefusedError } from "../../site-agent/errors.js";
import type { SiteWork } from "../../site-agent/types.js";
import * as db from "../../coordinator/store/index.js";
import { startTestCoordinator, testManifest } from "../helpers/federation.js";
import { tempDir } from "../helpers/temp.js";

/** One agent with `work`, one sequential run on its site; the finished run, its task and the coordinator. */
async function runOneTask(siteId: string, work: Omit<SiteWork, "manifest">) {
  const coord = await startTestCoordinator({ evalSets: { [`dom-${siteId}`]: "/unused" } });
  const config = agentSchema.parse({ siteId, coordinator: coord.address, insecure: true, stateDir: tempDir("medfcl-task-end-") });
  const abort = new AbortController();
  const agent = runAgent({ config, logger: silentLogger(), work: { manifest: () => testManifest(`dom-${siteId}`), ...work }, signal: abort.signal, maxTasks: 0 });
  const admin = createAdminClient(coord.address, { insecure: true });
  let runId = "";
  while (!runId) {
    runId = await admin.createRun({ model: "nano", name: `run-${siteId}`, strategy: "sequential", sites: [siteId], seed: 1 }).then((r) => r.run_id, () => "");
    if (!runId) await new Promise((r) => setTimeout(r, 100));
  }
  const run = await admin.waitForRun(runId, { pollMs: 100, timeoutMs: 30_000 });
  abort.abort();
  await agent;
  admin.close();
  return { run, task: db.tasksOfRun(coord.ctx.db, runId)[0], coord };
}

describe("site agent - refusing or failing a task", () => {
  it("agent - a task over the site's privacy budget is refused, said so, and recorded by the coordinator", async () => {
    // Training is not reached: the budget check refuses first (the ε ledger itself is tested in privacy/dp.test.ts).
    const { run, task, coord } = await runOneTask("site-p", {
      checkTask: () => {
        throw new TaskRefusedError("site site-p: this task would spend ε 12.00 > budget 10");
      },
      train: () => Promise.reject(new Error("must not train a refused task")),
      offerExemplars: () => Promise.resolve([]),
    });
    assert.equal(run.state, "completed", "a refusal is a dropout, not a failure, under the skip policy");
    assert.deepEqual(run.steps[0].dropouts, ["site-p"]);
    assert.equal(task.state, "refused");
    assert.match(task.reason ?? "", /budget/);
    const notes = coord.ctx.db.prepare("SELECT note FROM notes WHERE site_id = 'site-p'").all() as { note: string }[];
    assert.ok(notes.some((n) => /refused: .*budget/.test(n.note)));
    await coord.close();
  });

  it("agent - a task whose training throws is reported failed once, not handed back, and the site drops out", async () => {
    let attempts = 0;
    const { run, task, coord } = await runOneTask("site-f", {
      checkTask: () => undefined,
      train: () => {
        attempts++;
        return Promise.reject(new Error("maxTokens: the caption needs 34 tokens but the model takes 32"));
      },
      offerExemplars: () => Promise.resolve([]),
    });
    assert.equal(run.state, "completed");
    assert.deepEqual(run.steps[0].dropouts, ["site-f"]);
    assert.equal(task.state, "failed");
    assert.match(task.reason ?? "", /^maxTokens/, "the reason is the site's TaskOutcome reason, without a text prefix");
    assert.equal(attempts, 1, "the failed task was not delivered again");
    await coord.close();
  });
});
