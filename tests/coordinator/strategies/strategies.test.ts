import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { createStrategy, fedAvg, findStrategy, plainTask, registerStrategy, strategyInfo, strategyNames, type Hyper, type RoundContext, type SiteInfo } from "../../../coordinator/strategies/index.js";
import { defaultHyper } from "../../../coordinator/admin-service.js";
import type { TensorMap } from "../../../services/tensors/index.js";

const sites: SiteInfo[] = [
  { siteId: "a", domain: "kvasir", numImages: 10 },
  { siteId: "b", domain: "clinicdb", numImages: 30 },
  { siteId: "c", domain: "bkai", numImages: 20 },
];
const hyper: Hyper = { ...defaultHyper(), epochs: 3 };
const t = (v: number[]): TensorMap => new Map([["w", { dtype: "float32", shape: [v.length], data: Float32Array.from(v) }]]);

function ctx(strategyName: string, options: Record<string, string>, stepIndex: number, pool: RoundContext["replayPool"] = [], round = 0): RoundContext {
  const s = createStrategy(strategyName, options);
  const steps = s.planSteps(sites, hyper);
  return { step: steps[stepIndex], round, sites, hyper, replayPool: pool, seed: 7, isLastStep: stepIndex === steps.length - 1 };
}

describe("strategies", () => {
  it("strategies - sequential trains one site per step, each continuing from the previous model", () => {
    const steps = createStrategy("sequential").planSteps(sites, hyper);
    assert.deepEqual(steps.map((s) => [s.domain, s.sites, s.parent, s.rounds]), [
      ["kvasir", ["a"], "previous", 1],
      ["clinicdb", ["b"], "previous", 1],
      ["bkai", ["c"], "previous", 1],
    ]);
  });

  it("strategies - specialized restarts every step from the base model", () => {
    assert.ok(createStrategy("specialized").planSteps(sites, hyper).every((s) => s.parent === "base"));
    const long = ctx("specialized", { local_epochs: "15" }, 1);
    const task = createStrategy("specialized", { local_epochs: "15" }).configureRound(long).tasks[0];
    assert.deepEqual([task.siteId, task.hyper.epochs], ["b", 15]);
    assert.equal(createStrategy("specialized").configureRound(ctx("specialized", {}, 1)).tasks[0].hyper.epochs, 3);
  });

  it("strategies - joint is one step over all sites, one round per epoch of one local epoch", () => {
    const s = createStrategy("joint", { shots: "100" });
    const [step] = s.planSteps(sites, hyper);
    assert.deepEqual([step.sites, step.rounds, step.parent], [["a", "b", "c"], 3, "base"]);
    const plan = s.configureRound({ step, round: 1, sites, hyper, replayPool: [], seed: 1, isLastStep: true });
    assert.ok(plan.tasks.every((task) => task.hyper.epochs === 1 && task.shots === 100));
  });

  it("strategies - joint's rounds and local_epochs set the communication budget", () => {
    const epochsOf = (options: Record<string, string>) => {
      const s = createStrategy("joint", options);
      const [step] = s.planSteps(sites, hyper);
      return [step.rounds, s.configureRound({ step, round: 0, sites, hyper, replayPool: [], seed: 1, isLastStep: true }).tasks[0].hyper.epochs];
    };
    assert.deepEqual(epochsOf({ rounds: "1" }), [1, 3], "one round of the run's 3 epochs: centralised-style training");
    assert.deepEqual(epochsOf({ rounds: "15", local_epochs: "1" }), [15, 1]);
    assert.deepEqual(epochsOf({ local_epochs: "2" }), [3, 2]);
    assert.throws(() => createStrategy("joint", { local_epochs: "-1" }), /local_epochs/);
  });

  it("strategies - FedAvg weights deltas by sample count", () => {
    const r = fedAvg([
      { siteId: "a", delta: t([1, 0]), numSamples: 10 },
      { siteId: "b", delta: t([0, 1]), numSamples: 30 },
    ])!;
    assert.deepEqual([...r.delta.get("w")!.data], [0.25, 0.75]);
    assert.equal(fedAvg([]), null);
  });

  it("strategies - rehearsal sends no replay at step 0, the sampled buffer later, and asks for exemplars except at the last step", () => {
    const pool = Array.from({ length: 150 }, (_, i) => ({ id: `e${i}`, domain: i < 100 ? "kvasir" : "clinicdb", categoryIds: [1], order: i }));
    const first = createStrategy("rehearsal", { buffer: "100" }).configureRound(ctx("rehearsal", { buffer: "100" }, 0));
    assert.deepEqual([first.tasks[0].exemplarIds.length, first.tasks[0].hyper.replayRatio, first.tasks[0].exemplarsWanted], [0, undefined, 100], "no replay: the ratio is absent, not 0");
    const s = createStrategy("rehearsal", { buffer: "100", mix: "0.5" });
    const later = s.configureRound(ctx("rehearsal", { buffer: "100", mix: "0.5" }, 2, pool));
    assert.equal(later.tasks[0].exemplarIds.length, 100);
    assert.equal(new Set(later.tasks[0].exemplarIds).size, 100);
    assert.equal(later.tasks[0].hyper.replayRatio, 0.5);
    assert.equal(later.tasks[0].exemplarsWanted, 0, "nothing after the last step needs exemplars");
    // Same seed and pool: the same buffer.
    assert.deepEqual(s.configureRound(ctx("rehearsal", { buffer: "100", mix: "0.5" }, 2, pool)).tasks[0].exemplarIds, later.tasks[0].exemplarIds);
  });

  it("strategies - unknown strategies and options are refused with the field named", () => {
    assert.throws(() => createStrategy("fedprox"), /unknown strategy "fedprox"/);
    assert.throws(() => createStrategy("rehearsal", { bufer: "10" }), (e: Error & { details?: { field?: string } }) => e.details?.field === "options.bufer");
    assert.throws(() => createStrategy("rehearsal", { buffer: "-1" }), /buffer/);
    assert.throws(() => createStrategy("rehearsal", { sampler: "best" }), /sampler/);
    assert.throws(() => createStrategy("joint", { shots_selection: "magic" }), /shots_selection/);
  });

  it("strategies - option errors name the field and the allowed values; empty means the default", () => {
    const field = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (e) {
        return (e as { details?: { field?: string } }).details?.field;
      }
      return undefined;
    };
    assert.equal(field(() => createStrategy("rehearsal", { mix: "0.99" })), "options.mix");
    assert.throws(() => createStrategy("rehearsal", { mix: "0.99" }), /"mix" must be a number in \[0, 0.95\], got "0.99"/);
    assert.throws(() => createStrategy("joint", { shots_selection: "magic" }), /must be random or kcenter, got "magic"/);
    assert.throws(() => createStrategy("specialized", { rounds: "1.5" }), /"rounds" must be an integer in \[1, 1000\]/);
    assert.equal(field(() => createStrategy("sequential", { buffer: "10" })), "options.buffer");
    const task = createStrategy("rehearsal", { buffer: "", mix: "" }).configureRound(ctx("rehearsal", {}, 1, [{ id: "e0", domain: "kvasir", categoryIds: [1], order: 0 }])).tasks[0];
    assert.deepEqual([task.exemplarsWanted, task.hyper.replayRatio], [100, 0.3], "the defaults: buffer 100, mix 0.3");
  });

  it("strategies - the registry gives each built-in's defaults and traits, and a trait's step count is its plan's", () => {
    assert.deepEqual(strategyNames(), ["specialized", "joint", "sequential", "rehearsal"]);
    assert.deepEqual(strategyInfo("rehearsal").defaults, { buffer: "100", sampler: "random", mix: "0.3", rounds: "1", site_sampler: "random" });
    assert.deepEqual(strategyInfo("joint").defaults, { rounds: "0", local_epochs: "0", shots: "0", shots_selection: "random" });
    const traits = Object.fromEntries(strategyNames().map((n) => [n, (({ continual, exportsExemplars, perDomainModels }) => ({ continual, exportsExemplars, perDomainModels }))(strategyInfo(n).traits)]));
    assert.deepEqual(traits, {
      specialized: { continual: false, exportsExemplars: false, perDomainModels: true },
      joint: { continual: false, exportsExemplars: false, perDomainModels: false },
      sequential: { continual: true, exportsExemplars: false, perDomainModels: false },
      rehearsal: { continual: true, exportsExemplars: true, perDomainModels: false },
    });
    for (const name of strategyNames()) {
      for (const n of [1, 2, 3]) assert.equal(strategyInfo(name).traits.stepCount(n), createStrategy(name).planSteps(sites.slice(0, n), hyper).length, `${name} over ${n} sites`);
      // A strategy that asks for exemplars says so in its traits.
      const plans = createStrategy(name).planSteps(sites, hyper).flatMap((step) => createStrategy(name).configureRound({ step, round: step.rounds - 1, sites, hyper, replayPool: [], seed: 1, isLastStep: false }).tasks);
      assert.equal(plans.some((t) => t.exemplarsWanted > 0), strategyInfo(name).traits.exportsExemplars, name);
    }
  });

  it("strategies - a registered strategy is found by name until it is removed; names are unique", () => {
    const remove = registerStrategy({
      name: "test-only",
      summary: "test",
      options: { k: { kind: "int", default: 2, min: 1, doc: "k" } },
      traits: { continual: false, exportsExemplars: false, perDomainModels: false, stepCount: () => 1 },
      create: ({ k }) => ({
        name: "test-only",
        planSteps: (all) => [{ index: 0, domain: "joint", sites: all.map((x) => x.siteId), rounds: k, parent: "base" }],
        configureRound: (c) => ({ tasks: c.step.sites.map((id) => plainTask(id, c.hyper)) }),
        aggregate: (_s, _r, updates) => fedAvg(updates),
      }),
    });
    try {
      assert.equal(createStrategy("test-only", { k: "5" }).planSteps(sites, hyper)[0].rounds, 5);
      assert.throws(() => createStrategy("test-only", { k: "0" }), (e: Error & { details?: { field?: string } }) => e.details?.field === "options.k");
      assert.throws(() => registerStrategy({ ...strategyDefinitionStub(), name: "rehearsal" }), /already registered/);
      assert.throws(() => registerStrategy({ ...strategyDefinitionStub(), name: "Bad Name" }), /strategy name/);
    } finally {
      remove();
    }
    assert.equal(findStrategy("test-only"), undefined);
    assert.throws(() => createStrategy("test-only"), /unknown strategy "test-only"/);
  });
});

function strategyDefinitionStub() {
  return {
    name: "stub",
    summary: "",
    options: {},
    traits: { continual: false, exportsExemplars: false, perDomainModels: false, stepCount: () => 1 },
    create: () => createStrategy("sequential"),
  };
}
