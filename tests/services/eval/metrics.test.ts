import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import {
  AccuracyMatrixBuilder,
  accuracyMatrixCsv,
  continualMetrics,
  parseAccuracyMatrix,
  parseBaseAp,
  type AccuracyMatrix,
} from "../../../services/eval/index.js";
import { EvalInputError } from "../../../services/eval/errors.js";

const near = (a: number | null, b: number, what: string) => {
  assert.ok(a !== null, `${what} is null`);
  assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} != ${b}`);
};

// Steps train A, B, C in turn; X is test-only.
const full: AccuracyMatrix = {
  steps: ["s1", "s2", "s3"],
  domains: ["A", "B", "C", "X"],
  ap: [
    [60, 10, 5, 20],
    [40, 70, 8, 25],
    [30, 50, 80, 15],
  ],
};

describe("metrics", () => {
  it("metrics - ACC averages the last row over the trained domains only", () => {
    near(continualMetrics(full).acc, (30 + 50 + 80) / 3, "acc");
  });

  it("metrics - BWT compares the last row with the diagonal", () => {
    near(continualMetrics(full).bwt, (30 - 60 + (50 - 70)) / 2, "bwt");
  });

  it("metrics - FWT compares the row before each step with the base model", () => {
    const m = continualMetrics(full, { A: 2, B: 4, C: 6, X: 1 });
    near(m.fwt, (10 - 4 + (8 - 6)) / 2, "fwt");
    assert.equal(continualMetrics(full).fwt, null, "no base, no FWT");
  });

  it("metrics - forgetting is the best earlier AP minus the last, per domain and mean", () => {
    const m = continualMetrics(full);
    assert.deepEqual(m.forgetting.per_domain, { A: 60 - 30, B: 70 - 50, C: null, X: 25 - 15 });
    near(m.forgetting.mean, (30 + 20) / 2, "mean forgetting (trained domains before the last)");
  });

  it("metrics - per-step average over the trained domains; the last equals ACC", () => {
    const m = continualMetrics(full);
    assert.equal(m.avg_ap_per_step.length, 3);
    near(m.avg_ap_per_step[0], (60 + 10 + 5) / 3, "step 1");
    near(m.avg_ap_per_step[1], (40 + 70 + 8) / 3, "step 2");
    assert.equal(m.avg_ap_per_step[2], m.acc);
  });

  it("metrics - missing entries drop the terms that need them", () => {
    const R: AccuracyMatrix = {
      steps: ["s1", "s2", "s3"],
      domains: ["A", "B", "C"],
      ap: [
        [null, 10, 5],
        [40, 70, null],
        [30, 65, 80],
      ],
    };
    const m = continualMetrics(R, { A: 0, B: 4, C: 6 });
    near(m.acc, (30 + 65 + 80) / 3, "acc");
    near(m.bwt, 65 - 70, "bwt: the A term needs R[0][0], which is missing");
    near(m.fwt, 10 - 4, "fwt: the C term needs R[1][2], which is missing");
    assert.deepEqual(m.forgetting.per_domain, { A: 40 - 30, B: 70 - 65, C: null });
    near(m.forgetting.mean, 7.5, "mean forgetting");
    near(m.avg_ap_per_step[0], 7.5, "step 1 averages the two present entries");
    near(m.avg_ap_per_step[1], 55, "step 2");
  });

  it("metrics - a metric with no term left is null", () => {
    const R: AccuracyMatrix = {
      steps: ["s1", "s2"],
      domains: ["A", "B"],
      ap: [
        [null, null],
        [null, null],
      ],
    };
    const m = continualMetrics(R, { A: 1 });
    assert.deepEqual(m, { acc: null, bwt: null, fwt: null, forgetting: { per_domain: { A: null, B: null }, mean: null }, avg_ap_per_step: [null, null] });
  });

  it("metrics - a single step has ACC but no BWT, FWT or forgetting", () => {
    const R: AccuracyMatrix = { steps: ["s1"], domains: ["A", "X"], ap: [[50, 20]] };
    const m = continualMetrics(R, { A: 3, X: 1 });
    assert.deepEqual(m, { acc: 50, bwt: null, fwt: null, forgetting: { per_domain: { A: null, X: null }, mean: null }, avg_ap_per_step: [50] });
  });

  it("metrics - bad matrices are rejected with the file and the cell", () => {
    assert.throws(
      () => parseAccuracyMatrix({ steps: ["s1"], domains: ["A"], ap: [["x"]] }, "R.json"),
      (e: unknown) => e instanceof EvalInputError && e.message.includes("R.json") && e.message.includes("ap[0][0]"),
    );
    assert.throws(() => parseAccuracyMatrix({ steps: ["s1", "s2"], domains: ["A"], ap: [[1], [2]] }), /at least as many domains/);
    assert.throws(() => parseBaseAp({ A: "3" }, "base.json"), /base\.json.*"A"/);
    assert.deepEqual(parseAccuracyMatrix(full), full);
  });

  it("metrics - R.csv has a step,<domain> header and empty cells for missing entries", () => {
    const csv = accuracyMatrixCsv({ steps: ["s1", "s2"], domains: ["A", "B"], ap: [[1.5, null], [2, 3]] });
    assert.equal(csv, "step,A,B\ns1,1.5,\ns2,2,3\n");
  });

  it("metrics - the builder fills R cell by cell and resets", () => {
    const b = new AccuracyMatrixBuilder(["s1", "s2"], ["A", "B"]);
    b.update("s2", "A", 12);
    assert.deepEqual(b.result().ap, [[null, null], [12, null]]);
    assert.throws(() => b.update("s9", "A", 1), EvalInputError);
    b.reset();
    assert.deepEqual(b.result().ap, [[null, null], [null, null]]);
  });
});
