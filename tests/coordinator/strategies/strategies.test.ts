import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { createStrategy, fedAvg, type Hyper, type RoundContext, type SiteInfo } from "../../../coordinator/strategies/index.js";
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
    assert.deepEqual([first.tasks[0].exemplarIds.length, first.tasks[0].hyper.replayRatio, first.tasks[0].exemplarsWanted], [0, 0, 100]);
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
});
