import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import {
  EXEMPLAR_SAMPLERS,
  herdingOrder,
  kCenterOrder,
  lossAwareOrder,
  parseExemplarSampler,
  sampleReplay,
  selectExemplars,
  type ModelSignals,
  type ReplayItem,
} from "../../../services/replay/index.js";

const pt = (...v: number[]) => Float32Array.from(v);

/** Two classes in two domains, unevenly sized: 30 of (a, 1), 6 of (a, 2), 4 of (b, 1). */
const pool: ReplayItem[] = [
  ...Array.from({ length: 30 }, (_, i) => ({ id: `a1-${i}`, domain: "a", categoryIds: [1], order: i })),
  ...Array.from({ length: 6 }, (_, i) => ({ id: `a2-${i}`, domain: "a", categoryIds: [2], order: 30 + i })),
  ...Array.from({ length: 4 }, (_, i) => ({ id: `b1-${i}`, domain: "b", categoryIds: [1], order: 36 + i })),
];

/** Signals that must not be read: random and class-balanced never look at the model. */
const untouchable: ModelSignals = {
  embeddings: () => Promise.reject(new Error("random/class-balanced must not embed")),
  losses: () => Promise.reject(new Error("random/class-balanced must not compute losses")),
};

describe("exemplar selectors", () => {
  it("kcenter - picks a representative of every cluster before a second from any", () => {
    const feats = [pt(10, 0, 1), pt(10.1, 0, 1), pt(9.9, 0.1, 1), pt(0, 10, 1), pt(0.1, 10, 1), pt(-10, -10, 1), pt(10, 0.2, 1)];
    const picked = kCenterOrder(feats, 3);
    assert.equal(picked.length, 3);
    const cluster = (i: number) => (i === 5 ? "c" : i === 3 || i === 4 ? "b" : "a");
    assert.deepEqual(new Set(picked.map(cluster)), new Set(["a", "b", "c"]));
    assert.deepEqual(kCenterOrder(feats, 3), picked, "deterministic");
    assert.equal(kCenterOrder(feats, 99).length, feats.length);
    assert.deepEqual(kCenterOrder([], 3), []);
  });

  it("herding - starts at the item nearest the mean and then keeps the running mean on it", () => {
    // The mean is (0.158, 0): (0.05, 0) is nearest it; (0.9, 0) then brings the two-item mean to 0.475,
    // the nearest any second item gets; (-1, 0) then pulls the three-item mean back to -0.017.
    const feats = [pt(1, 0), pt(0.05, 0), pt(-1, 0), pt(0.9, 0), pt(0, 3), pt(0, -3)];
    const mean = feats.reduce((m, f) => [m[0] + f[0] / feats.length, m[1] + f[1] / feats.length], [0, 0]);
    assert.ok(Math.abs(mean[0] - 0.95 / 6) < 1e-6 && Math.abs(mean[1]) < 1e-6);
    const picked = herdingOrder(feats, 3);
    assert.equal(picked[0], 1, "the item nearest the mean");
    assert.equal(picked[1], 3);
    assert.equal(picked[2], 2, "then the item that pulls the running mean back");
    assert.deepEqual(herdingOrder(feats, 3), picked, "deterministic");
    assert.equal(new Set(herdingOrder(feats, 99)).size, feats.length, "each item at most once");
  });

  it("loss-aware - takes the highest losses first, ties by the lower index, and no more than asked", () => {
    const losses = [0.5, 3.2, 0.1, 7.0, 3.2, 0.9];
    assert.deepEqual(lossAwareOrder(losses, 3), [3, 1, 4]);
    assert.deepEqual(lossAwareOrder(losses, 0), []);
    assert.deepEqual(lossAwareOrder(losses, 99), [3, 1, 4, 5, 0, 2]);
  });

  it("loss-aware - a loss that is not a finite number is an error naming the item", () => {
    assert.throws(() => lossAwareOrder([1, Number.NaN, 2], 2), /item 1 is NaN/);
    assert.throws(() => lossAwareOrder([Infinity], 1), /item 0 is Infinity/);
  });

  it("select - random and class-balanced are exactly sampleReplay with the same seed (no model read)", async () => {
    for (const sampler of ["random", "class-balanced"] as const) {
      const picked = await selectExemplars(pool, 8, sampler, 42, untouchable);
      assert.deepEqual(picked.map((x) => x.id), sampleReplay(pool, 8, sampler, 42).map((x) => x.id), sampler);
    }
    const balanced = await selectExemplars(pool, 12, "class-balanced", 42, null);
    assert.equal(balanced.filter((x) => x.domain === "b").length, 4, "class-balanced gives the small group its share");
  });

  it("select - herding and loss-aware order the pool by the model's signals", async () => {
    const small = pool.slice(0, 6);
    const signals: ModelSignals = {
      embeddings: () => Promise.resolve([pt(1, 0), pt(0.05, 0), pt(-1, 0), pt(0.9, 0), pt(0, 3), pt(0, -3)]),
      losses: () => Promise.resolve([0.2, 0.3, 5, 0.1, 4, 0.2]),
    };
    assert.deepEqual((await selectExemplars(small, 2, "loss-aware", 1, signals)).map((x) => x.id), ["a1-2", "a1-4"]);
    assert.deepEqual((await selectExemplars(small, 3, "herding", 1, signals)).map((x) => x.id), ["a1-1", "a1-3", "a1-2"]);
  });

  it("select - a model-based sampler without the model is an error, never a random pick", async () => {
    for (const sampler of ["herding", "loss-aware"] as const) {
      await assert.rejects(selectExemplars(pool, 3, sampler, 1, null), new RegExp(`the ${sampler} exemplar sampler needs the trained model`));
    }
  });

  it("select - an unknown sampler name is refused with the field named, whatever it is", () => {
    assert.deepEqual([...EXEMPLAR_SAMPLERS], ["random", "class-balanced", "herding", "loss-aware"]);
    for (const name of ["reservoir", "loss_aware", "", "Random"]) {
      assert.throws(() => parseExemplarSampler(name, "task t1 exemplar_sampler"), /unknown exemplar sampler .* in task t1 exemplar_sampler; use one of random, class-balanced, herding, loss-aware/);
    }
    assert.equal(parseExemplarSampler("loss-aware"), "loss-aware");
  });
});
