import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { convergenceEpoch, movingAverage, spearman, transferCorrelation } from "../../experiments/index.js";

const curve = (aps: number[]) => aps.map((ap, i) => ({ epoch: i + 1, ap }));

describe("epoch rule", () => {
  it("convergence - a centred moving average leaves the edges empty", () => {
    assert.deepEqual(movingAverage([1, 2, 3, 4, 5], 3), [null, 2, 3, 4, null]);
    assert.deepEqual(movingAverage([1, 2, 3], 1), [1, 2, 3]);
  });

  it("convergence - the first epoch within minGain of the best smoothed AP; a noisy dip does not stop it early", () => {
    // Rises to ~61 by epoch 9, then flat with noise; one deep dip at epoch 5.
    const aps = [20, 35, 45, 50, 41, 56, 58, 60, 62, 61, 62, 60, 59, 60, 59];
    const c = convergenceEpoch(curve(aps), { window: 3, minGain: 1 });
    const sm = movingAverage(aps, 3);
    const best = Math.max(...sm.filter((v): v is number => v !== null));
    assert.equal(c.best, best);
    assert.equal(c.epoch, sm.findIndex((v) => v !== null && v >= best - 1) + 1);
    assert.ok(c.epoch >= 8 && c.epoch <= 10, `converged at ${c.epoch}`);
    assert.equal(c.epoch, 9);
    assert.equal(c.bestEpoch, 10);
    assert.ok(c.converged, "the best is not at the end: converged");
  });

  it("convergence - a curve still rising at its end is flagged", () => {
    const c = convergenceEpoch(curve([10, 20, 30, 40, 50, 60, 70, 80]), { window: 3, minGain: 1 });
    assert.equal(c.epoch, 7);
    assert.equal(c.converged, false);
  });

  it("convergence - bad curves and rules are refused", () => {
    assert.throws(() => convergenceEpoch([]), /at least one epoch/);
    assert.throws(() => convergenceEpoch([{ epoch: 2, ap: 3 }]), /epochs 1, 2, 3/);
    assert.throws(() => convergenceEpoch(curve([1, Number.NaN])), /finite AP/);
    assert.throws(() => convergenceEpoch(curve([1, 2, 3]), { window: 2, minGain: 1 }), /odd/);
    assert.equal(convergenceEpoch(curve([5, 9])).epoch, 2, "a short curve is smoothed over what there is");
  });
});

describe("transfer correlation", () => {
  it("spearman - 1 for the same order, -1 for the reverse, ties share ranks", () => {
    assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
    assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
    // Ranks [1, 2.5, 2.5, 4] and [1, 3, 2, 4]: 4.5 / sqrt(4.5 * 5) = 3 / sqrt(10).
    assert.ok(Math.abs(spearman([1, 2, 2, 3], [1, 3, 2, 4]) - 3 / Math.sqrt(10)) < 1e-12);
    assert.throws(() => spearman([1], [1]), /same length ≥ 2/);
  });

  it("transfer - correlates the off-diagonal cells both matrices have, through a name map", () => {
    const a = { train: ["kvasir", "sessile"], test: ["kvasir", "sessile", "etis"], ap: [[80, 30, 10], [50, 70, 20]] };
    const b = { train: ["kvasir", "kvasir-sessile"], test: ["kvasir", "kvasir-sessile", "colondb"], ap: [[60, 40, 5], [45, 50, 9]] };
    const r = transferCorrelation(a, b, { sessile: "kvasir-sessile" });
    assert.deepEqual(r.cells.map((c) => `${c.train}>${c.test}`), ["kvasir>kvasir-sessile", "kvasir-sessile>kvasir"]);
    // a: 30 < 50, b: 40 < 45, the same order; the diagonal and unmatched domains (etis, colondb) are left out.
    assert.equal(r.rho, 1);
    assert.throws(() => transferCorrelation(a, b), /share 0 off-diagonal/);
  });
});
