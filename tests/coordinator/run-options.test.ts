// Strategy options are resolved once, when a run is created: the run stores every option typed,
// defaults included, and everything after (the round runner on resume included) reads those values.
import { strict as assert } from "node:assert";
import { after, describe, it } from "node:test";
import { createRun } from "../../coordinator/admin-service.js";
import * as store from "../../coordinator/store/index.js";
import { createStrategy, fedAvg, plainTask, registerStrategy, resolveStrategyOptions } from "../../coordinator/strategies/index.js";
import type { CreateRunRequest__Output } from "../../generated/medfcl/v1/CreateRunRequest.js";
import type { RunningCoordinator } from "../../coordinator/index.js";
import { createRunRequest } from "../helpers/create-run-request.js";
import { startTestCoordinator } from "../helpers/federation.js";

const request = (over: Partial<CreateRunRequest__Output>): CreateRunRequest__Output => createRunRequest({ name: "r", sites: ["a"], seed: 1, model: "nano", ...over });

/** A strategy whose one option's default the test changes, as an upgrade would; it reports what it was built with. */
function registerProbe(defaultRounds: number, built: number[]): () => void {
  return registerStrategy({
    name: "options-probe",
    summary: "test",
    options: { rounds: { kind: "int", default: defaultRounds, min: 1, max: 50, doc: "rounds" }, pick: { kind: "choice", default: "first", values: ["first", "last"], doc: "pick" } },
    traits: { continual: false, exportsExemplars: false, perDomainModels: false, stepCount: () => 1 },
    create: ({ rounds }) => {
      built.push(rounds);
      return {
        name: "options-probe",
        planSteps: (all) => [{ index: 0, domain: "joint", sites: all.map((x) => x.siteId), rounds, parent: "base" }],
        configureRound: (c) => ({ tasks: c.step.sites.map((id) => plainTask(id, c.hyper)) }),
        aggregate: (_s, _r, updates) => fedAvg(updates),
      };
    },
  });
}

describe("run options", () => {
  let coord: RunningCoordinator;
  after(async () => coord?.close());

  it("options - a run stores every strategy option resolved and typed, defaults included; the wire shows them as strings", async () => {
    coord = await startTestCoordinator();
    store.upsertSite(coord.ctx.db, { siteId: "a", domain: "kvasir", task: "polyp", manifest: { num_images: 4 }, backend: "cpu", agentVersion: "test", sessionId: "s" });
    const run = createRun(coord.ctx, request({ name: "reh", strategy: "rehearsal", options: { buffer: "20" } }));
    assert.deepEqual(store.getRun(coord.ctx.db, run.runId)!.options, { buffer: 20, sampler: "random", mix: 0.3, rounds: 1, site_sampler: "random" });
    assert.deepEqual(resolveStrategyOptions("rehearsal", { mix: "0.5" }), { buffer: 100, sampler: "random", mix: 0.5, rounds: 1, site_sampler: "random" });
    assert.throws(() => createRun(coord.ctx, request({ name: "bad", strategy: "rehearsal", options: { sampler: "herding" } })), /options\.sampler|strategy option "sampler" must be random, reservoir or class-balanced/);
  });

  it("options - a run resumed after a default changed keeps the value it was created with", async () => {
    const built: number[] = [];
    let remove = registerProbe(3, built);
    let stored;
    try {
      const run = createRun(coord.ctx, request({ name: "probe", strategy: "options-probe" }));
      stored = store.getRun(coord.ctx.db, run.runId)!;
      assert.deepEqual(stored.options, { rounds: 3, pick: "first" });
    } finally {
      remove();
    }
    // The upgrade: the same strategy, now defaulting to 7 rounds. A new run gets 7; the stored run,
    // resumed the way the round runner builds its strategy (createStrategy(run.strategy, run.options)), keeps 3.
    remove = registerProbe(7, built);
    try {
      built.length = 0;
      const resumed = createStrategy(stored.strategy, store.getRun(coord.ctx.db, stored.runId)!.options).planSteps([{ siteId: "a", domain: "kvasir", numImages: 4 }], stored.hyper);
      assert.equal(resumed[0].rounds, 3);
      const fresh = createRun(coord.ctx, request({ name: "probe-2", strategy: "options-probe" }));
      assert.deepEqual(store.getRun(coord.ctx.db, fresh.runId)!.options, { rounds: 7, pick: "first" });
    } finally {
      remove();
    }
  });
});
