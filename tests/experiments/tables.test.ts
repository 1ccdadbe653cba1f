import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { acceptanceChecks, aggregateParadigms, experimentPlan, planSessions, matrixMarkdown, meanStd, paradigmTableFor, paradigmsMarkdown, type RunResult } from "../../experiments/index.js";

const domains = ["a", "b", "c", "x"]; // x is test-only
const base = { a: 1, b: 2, c: 3, x: 4 };
const plan = experimentPlan("paradigms", { shots: 100, buffer: 100, mix: 0.3, beyond: false });
const results: RunResult[] = [
  { label: "specialized", R: { steps: ["a", "b", "c"], domains, ap: [[80, 10, 5, 20], [12, 70, 6, 30], [2, 3, 60, 9]] }, base, seconds: 1 },
  { label: "joint", R: { steps: ["joint"], domains, ap: [[75, 65, 55, 25]] }, base, seconds: 1 },
  { label: "joint-100", R: { steps: ["joint"], domains, ap: [[70, 60, 50, 22]] }, base, seconds: 1 },
  { label: "sequential", R: { steps: ["a", "b", "c"], domains, ap: [[80, 0, 0, 10], [30, 70, 0, 10], [10, 20, 60, 5]] }, base, seconds: 1 },
  { label: "rehearsal", R: { steps: ["a", "b", "c"], domains, ap: [[80, 0, 0, 10], [70, 70, 0, 10], [60, 60, 60, 5]] }, base, seconds: 1 },
];

describe("experiments tables", () => {
  it("tables - paradigm rows: zero-shot is the base, specialized the diagonal, others the final row", () => {
    const t = paradigmTableFor(plan, results);
    assert.deepEqual(t.domains, domains);
    assert.deepEqual(t.rows.map((r) => r.paradigm), ["zero-shot", "specialized", "joint", "joint-100", "sequential", "rehearsal"]);
    const row = (p: string) => t.rows.find((r) => r.paradigm === p)!;
    assert.deepEqual(row("zero-shot").ap, [1, 2, 3, 4]);
    assert.equal(row("zero-shot").avg, 2); // trained domains only
    assert.deepEqual(row("specialized").ap, [80, 70, 60, null]);
    assert.equal(row("specialized").avg, 70);
    assert.deepEqual(row("joint").ap, [75, 65, 55, 25]);
    assert.equal(row("joint").bwt, null);
    // BWT = mean(R[T][j] − R[j][j]) over j < T: ((10−80) + (20−70)) / 2
    assert.equal(row("sequential").bwt, -60);
    assert.equal(row("rehearsal").bwt, -15);
  });

  it("tables - mean ± std over seeds, std null with one seed", () => {
    assert.deepEqual(meanStd([1, 3]), { mean: 2, std: Math.SQRT2, n: 2 });
    assert.deepEqual(meanStd([5, null]), { mean: 5, std: null, n: 1 });
    const t1 = paradigmTableFor(plan, results);
    const shifted = results.map((r) => ({ ...r, R: { ...r.R, ap: r.R.ap.map((row) => row.map((v) => (v === null ? null : v + 2))) } }));
    const agg = aggregateParadigms([t1, paradigmTableFor(plan, shifted)]);
    const spec = agg.mean.rows.find((r) => r.paradigm === "specialized")!;
    assert.deepEqual(spec.ap, [81, 71, 61, null]);
    assert.equal(agg.std.rows.find((r) => r.paradigm === "specialized")!.ap[0], Math.SQRT2);
    assert.match(paradigmsMarkdown(agg.mean, agg.std, ["a", "b", "c"], "polyp"), /\| specialized \| 81\.0 ± 1\.4 \| 71\.0 ± 1\.4 \| 61\.0 ± 1\.4 \| – \| 71\.0 ± 1\.4 \|/);
  });

  it("tables - acceptance checks report the measured ordering without changing it", () => {
    const t = paradigmTableFor(plan, results);
    const m = { train: ["a", "b", "c"], test: domains, ap: results[0].R.ap };
    const checks = acceptanceChecks(t, m, "c");
    const by = (s: string) => checks.find((c) => c.name.startsWith(s))!;
    assert.equal(by("specialized ≥ joint").pass, true); // 70 ≥ 65 > 60 > 30
    assert.match(by("specialized ≥ joint").detail, /70\.0 \/ 65\.0 \/ 60\.0 \/ 30\.0/);
    assert.equal(by("sequential BWT").pass, true);
    assert.equal(by("rehearsal BWT").pass, true);
    assert.equal(by("the diagonal").pass, true);
    assert.equal(by("the stylized").pass, true); // row c: (2+3+9)/3 is the lowest
    assert.match(matrixMarkdown(m, []), /\*\*80\.0\*\*/);
    const worse = { ...t, rows: t.rows.map((r) => (r.paradigm === "rehearsal" ? { ...r, avg: 20 } : r)) };
    assert.equal(acceptanceChecks(worse, undefined).find((c) => c.name.startsWith("specialized"))!.pass, false);
  });

  it("tables - the ordering check uses the centralised joint (the paper's) when a pooled run exists", () => {
    const pooled: RunResult = { label: "joint-central", R: { steps: ["joint"], domains, ap: [[50, 50, 50, 5]] }, base, seconds: 1 };
    const t = paradigmTableFor(experimentPlan("paradigms", { shots: 100, buffer: 100, mix: 0.3, beyond: false }), [...results, pooled]);
    assert.deepEqual(t.rows.map((r) => r.paradigm), ["zero-shot", "specialized", "joint", "joint-100", "joint-central", "sequential", "rehearsal"]);
    const check = acceptanceChecks(t, undefined).find((c) => c.name.startsWith("specialized"))!;
    assert.match(check.name, /joint = joint-central/);
    assert.equal(check.pass, false); // 70 ≥ 50, but 50 < rehearsal's 60
    assert.match(check.detail, /70\.0 \/ 50\.0 \/ 60\.0 \/ 30\.0/);
    assert.match(paradigmsMarkdown(t, t, ["a", "b", "c"], "polyp"), /\| joint-central \|.*\| 70\.0 \|\n/);
  });

  it("plan - --only keeps the named paradigms in plan order and refuses an unknown one by name", () => {
    const only = experimentPlan("paradigms", { shots: 100, buffer: 100, mix: 0.3, beyond: false, only: ["rehearsal", "specialized", "joint-central", "sequential"] });
    assert.deepEqual(only.map((p) => p.label), ["specialized", "joint-central", "sequential", "rehearsal"]);
    assert.deepEqual(planSessions(only).map((s) => [s.dir, s.runs.map((p) => p.label)]), [
      ["", ["specialized", "sequential", "rehearsal"]],
      ["joint-central", ["joint-central"]],
    ]);
    assert.throws(() => experimentPlan("paradigms", { shots: 100, buffer: 100, mix: 0.3, beyond: false, only: ["specialized", "joint-centrl"] }), /--only: unknown paradigm "joint-centrl"; this plan has specialized, joint, joint-100, joint-central/);
  });

  it("plan - each rehearsal run after the first, and each pooled run, gets fresh agents in a stable folder", () => {
    const full = experimentPlan("paradigms", { shots: 100, buffer: 100, mix: 0.3, beyond: true });
    const sessions = planSessions(full);
    assert.deepEqual(
      sessions.map((s) => [s.dir, s.runs.map((p) => p.label)]),
      [
        ["", ["specialized", "joint", "joint-100", "sequential", "rehearsal", "joint-100-kcenter"]],
        ["session-2", ["rehearsal-class-balanced"]],
        ["session-3", ["rehearsal-herding"]],
        ["joint-central", ["joint-central"]],
        ["joint-central-100", ["joint-central-100"]],
      ],
    );
    // Without the runs beyond the paper the folders of the paper's runs are the same.
    const paper = planSessions(experimentPlan("paradigms", { shots: 100, buffer: 100, mix: 0.3, beyond: false }));
    assert.deepEqual(paper.map((s) => s.dir), ["", "joint-central", "joint-central-100"]);
    assert.deepEqual(full.find((p) => p.label === "joint-central-100")!.pooled, { shots: 100 });
    assert.deepEqual(full.find((p) => p.label === "joint-central")!.options, { rounds: "1" });
    // The long federated joint run gets sequential's step budget: 3 epochs × 5 domains of one-epoch rounds.
    const sized = experimentPlan("paradigms", { shots: 100, buffer: 100, mix: 0.3, beyond: true, epochs: 3, trainDomains: 5 });
    assert.deepEqual(sized.slice(-4), [
      { label: "joint-15-rounds", strategy: "joint", options: { rounds: "15", local_epochs: "1" }, beyond: true },
      { label: "specialized-15-epochs", strategy: "specialized", options: { local_epochs: "15" }, beyond: true },
      { label: "joint-100-15-rounds", strategy: "joint", options: { shots: "100", rounds: "15", local_epochs: "1" }, beyond: true },
      { label: "joint-100-kcenter-15-rounds", strategy: "joint", options: { shots: "100", shots_selection: "kcenter", rounds: "15", local_epochs: "1" }, beyond: true },
    ]);
    assert.deepEqual(planSessions(sized)[0].runs.slice(-4).map((p) => p.label), ["joint-15-rounds", "specialized-15-epochs", "joint-100-15-rounds", "joint-100-kcenter-15-rounds"]);
    assert.deepEqual(full.find((p) => p.label === "rehearsal-herding")!.options, { buffer: "100", mix: "0.3", sampler: "random", site_sampler: "herding" });
    assert.deepEqual(full.find((p) => p.label === "joint-100-kcenter")!.options, { shots: "100", shots_selection: "kcenter" });
    assert.deepEqual(planSessions(experimentPlan("cross-domain", { shots: 100, buffer: 100, mix: 0.3, beyond: true })).map((s) => s.runs.length), [1]);
  });
});
