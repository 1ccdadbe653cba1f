// A paradigm defined here, in the test, and registered through the public registry: it runs end to
// end through the real coordinator (gRPC, SQLite, FedAvg, central COCO evaluation of every step)
// and real agents that train the nano detector on the tiny synthetic suite. Nothing outside
// coordinator/strategies/ knows its name, which is the point: adding a paradigm touches only there.
import { strict as assert } from "node:assert";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { agentSchema, coordinatorSchema } from "../../services/config/index.js";
import { synthesizeSuite } from "../../services/data/index.js";
import { silentLogger } from "../../services/log/index.js";
import { createAdminClient } from "../../services/transport/index.js";
import { startCoordinator, type RunningCoordinator } from "../../coordinator/index.js";
import { detectorModelOps } from "../../coordinator/model-ops-detector.js";
import { fedAvg, plainTask, registerStrategy, strategyInfo, type StrategyDefinition } from "../../coordinator/strategies/index.js";
import { runAgent } from "../../site-agent/agent.js";
import { createSiteWork } from "../../site-agent/site-work.js";
import type { SiteWork } from "../../site-agent/types.js";
import type { TrainTask__Output } from "../../generated/medfcl/v1/TrainTask.js";
import { isContinual, planSessions } from "../../experiments/plan.js";
import { simulationPlan } from "../../cli/simulate.js";
import { tempDir } from "../helpers/temp.js";

const options = {
  local_steps: { kind: "int", default: 1, min: 1, max: 100, doc: "optimiser steps per task" },
} as const;

/** Domain-incremental like sequential, but over the sites in reverse order, with a per-task step cap of its own. */
const reverseSequential: StrategyDefinition<typeof options> = {
  name: "test-reverse-sequential",
  summary: "test only: sequential over the sites in reverse order",
  options,
  traits: { continual: true, exportsExemplars: false, perDomainModels: false, stepCount: (sites) => sites },
  create({ local_steps: localSteps }) {
    return {
      name: "test-reverse-sequential",
      planSteps: (sites) => [...sites].reverse().map((s, index) => ({ index, domain: s.domain, sites: [s.siteId], rounds: 1, parent: "previous" })),
      configureRound: (ctx) => ({ tasks: ctx.step.sites.map((siteId) => plainTask(siteId, { ...ctx.hyper, maxSteps: localSteps })) }),
      aggregate: (_step, _round, updates) => fedAvg(updates),
    };
  },
};

describe("e2e - a strategy registered by a test runs through the real coordinator and agents", { timeout: 600_000 }, () => {
  const dir = tempDir("medfcl-e2e-strategy-");
  const domains = ["kvasir", "clinicdb"];
  const sites = ["site-kvasir", "site-clinicdb"];
  const abort = new AbortController();
  const agents: Promise<unknown>[] = [];
  const received: { siteId: string; task: TrainTask__Output }[] = [];
  let coord: RunningCoordinator;
  let unregister: () => void = () => {};

  before(async () => {
    unregister = registerStrategy(reverseSequential);
    const suite = await synthesizeSuite({ suite: "polyp", out: join(dir, "suite"), seed: 3, scale: "tiny", domains });
    const split = (name: string, which: "train" | "test"): string => join(dir, "suite", suite.domains.find((d) => d.name === name)!.splits[which]!);
    const config = coordinatorSchema.parse({
      listen: "127.0.0.1:0",
      httpListen: "127.0.0.1:0",
      stateDir: join(dir, "coord"),
      insecure: true,
      heartbeatIntervalMs: 500,
      evalSets: Object.fromEntries(domains.map((d) => [d, split(d, "test")])),
    });
    coord = await startCoordinator(config, silentLogger(), detectorModelOps());
    for (const [i, siteId] of sites.entries()) {
      const agentConfig = agentSchema.parse({ siteId, coordinator: coord.address, insecure: true, stateDir: join(dir, siteId), data: split(domains[i], "train"), domain: domains[i], task: "polyp" });
      const work = await createSiteWork(agentConfig, silentLogger());
      const observed: SiteWork = {
        ...work,
        train(task, base, replay, onProgress, signal) {
          received.push({ siteId, task });
          return work.train(task, base, replay, onProgress, signal);
        },
      };
      agents.push(runAgent({ config: agentConfig, logger: silentLogger(), work: observed, signal: abort.signal, maxTasks: 0 }));
    }
  });

  after(async () => {
    abort.abort();
    await Promise.allSettled(agents);
    await coord?.close();
    unregister();
    rmSync(dir, { recursive: true, force: true });
  });

  it("e2e - the registered strategy's plan, options and traits reach the coordinator, the agents, simulate and the experiments", async () => {
    const admin = createAdminClient(coord.address, { insecure: true });
    const hyperparameters = { lr: 2e-3, text_lr: 2e-4, epochs: 1, max_steps: 4, batch_size: 4, freeze_stages: 0, grad_clip: 5, seed: 3 };
    // Its option schema is the one the coordinator validates against, naming the field.
    await assert.rejects(
      admin.createRun({ name: "bad-option", strategy: reverseSequential.name, sites, seed: 3, model: "nano", options: { local_steps: "0" }, hyperparameters }),
      (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && /local_steps/.test(err.details),
    );
    let runId = "";
    for (let i = 0; !runId; i++) {
      try {
        runId = (await admin.createRun({ name: "reverse", strategy: reverseSequential.name, sites, seed: 3, model: "nano", options: { local_steps: "2" }, hyperparameters })).run_id;
      } catch (err) {
        if (i > 200) throw err; // agents still registering
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    const run = await admin.waitForRun(runId, { pollMs: 250, timeoutMs: 500_000 });
    assert.equal(run.state, "completed", run.error);
    const audit = await admin.getAudit(runId);
    admin.close();

    // Its plan: the sites in reverse order, each step continuing from the last.
    assert.deepEqual(run.steps.map((s) => s.sites), [["site-clinicdb"], ["site-kvasir"]]);
    assert.deepEqual(audit.matrix!.steps, ["clinicdb", "kvasir"]);
    const lineage = [...audit.lineage].sort((a, b) => a.step - b.step);
    assert.deepEqual(lineage.map((v) => v.step), [-1, 0, 1]);
    assert.equal(lineage[2].parent, lineage[1].version, "step 1 continues from step 0's model");
    assert.ok(lineage.slice(1).every((v) => v.strategy === reverseSequential.name));
    // Every step's model was evaluated centrally on both domains.
    assert.equal(audit.matrix!.rows.length, 2);
    assert.ok(audit.matrix!.rows.every((r) => r.cells.length === 2 && r.cells.every((c) => !c.missing)));
    // Its round configuration is what the sites trained with: its own step cap, not the run's 4.
    assert.deepEqual(received.map((r) => r.siteId), ["site-clinicdb", "site-kvasir"]);
    assert.ok(received.every((r) => r.task.hyperparameters?.max_steps === 2), JSON.stringify(received.map((r) => r.task.hyperparameters)));
    // The continual metrics apply, as its traits say.
    assert.ok(audit.metrics.some((m) => m.name === "bwt"));

    // The CLI and the experiments take it from the registry too.
    assert.equal(strategyInfo(reverseSequential.name).defaults.local_steps, "1");
    assert.deepEqual(simulationPlan({ strategy: reverseSequential.name, compare: [], buffer: 100, sampler: "random", mix: 0.3 }), [{ label: "", strategy: reverseSequential.name, options: {} }]);
    assert.equal(isContinual(reverseSequential.name), true);
    const planned = [{ label: "a", strategy: reverseSequential.name, options: {}, beyond: false }, { label: "b", strategy: reverseSequential.name, options: {}, beyond: false }];
    assert.deepEqual(planSessions(planned).map((s) => s.runs.length), [2], "it exports no exemplars, so its runs share one session");
  });
});
