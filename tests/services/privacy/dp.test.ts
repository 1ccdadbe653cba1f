import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { l2Norm, type TensorMap } from "../../../services/tensors/index.js";
import {
  auditLogPath,
  checkEpsilonBudget,
  computeEpsilon,
  defaultRdpOrders,
  EpsilonBudgetExceededError,
  privatizeDelta,
  recordEpsilonSpend,
  sampledGaussianRdp,
  verifyAuditLog,
} from "../../../services/privacy/index.js";
import { tempDir } from "./fixtures.js";

function delta(values: number[][]): TensorMap {
  const m: TensorMap = new Map();
  values.forEach((v, i) => m.set(`t${i}`, { dtype: "float32", shape: [v.length], data: Float32Array.from(v) }));
  return m;
}

/**
 * Sampled-Gaussian RDP straight from the definition: D_α(μ‖μ0) with μ0 = N(0,σ²) and
 * μ = (1−q)N(0,σ²) + qN(1,σ²), A_α = ∫ μ0(z) (μ(z)/μ0(z))^α dz by composite Simpson in log space.
 */
function rdpByIntegration(q: number, sigma: number, alpha: number): number {
  const lo = -14 * sigma;
  const hi = alpha + 14 * sigma;
  const n = 40000;
  const h = (hi - lo) / n;
  const logf = (z: number) => -(z * z) / (2 * sigma * sigma) - Math.log(sigma * Math.sqrt(2 * Math.PI)) + alpha * Math.log(1 - q + q * Math.exp((2 * z - 1) / (2 * sigma * sigma)));
  let max = -Infinity;
  const vals = new Float64Array(n + 1);
  for (let i = 0; i <= n; i++) {
    vals[i] = logf(lo + i * h);
    if (vals[i] > max) max = vals[i];
  }
  let s = 0;
  for (let i = 0; i <= n; i++) s += (i === 0 || i === n ? 1 : i % 2 === 1 ? 4 : 2) * Math.exp(vals[i] - max);
  const logA = Math.log((s * h) / 3) + max;
  return logA / (alpha - 1);
}

describe("privacy dp", () => {
  it("dp - privatizeDelta clips the whole update to C and reports the original norm", () => {
    const d = delta([[3, 0], [0, 4]]); // norm 5
    const r = privatizeDelta(d, { clipNorm: 1, noiseMultiplier: 0, seed: 1 });
    assert.equal(r.norm, 5);
    assert.equal(r.clipped, true);
    assert.ok(Math.abs(l2Norm(r.delta) - 1) < 1e-6);
    assert.ok(Math.abs(r.delta.get("t0")!.data[0] - 0.6) < 1e-6);
    const small = privatizeDelta(delta([[0.1, 0.2]]), { clipNorm: 1, noiseMultiplier: 0, seed: 1 });
    assert.equal(small.clipped, false);
    assert.deepEqual(Array.from(small.delta.get("t0")!.data), [Float32Array.from([0.1])[0], Float32Array.from([0.2])[0]]);
  });

  it("dp - noise is N(0, (σC)²) per coordinate and reproducible from the seed", () => {
    const n = 40000;
    const zero = delta([new Array(n).fill(0)]);
    const a = privatizeDelta(zero, { clipNorm: 0.5, noiseMultiplier: 2, seed: 42 });
    const b = privatizeDelta(zero, { clipNorm: 0.5, noiseMultiplier: 2, seed: 42 });
    const c = privatizeDelta(zero, { clipNorm: 0.5, noiseMultiplier: 2, seed: 43 });
    const x = a.delta.get("t0")!.data;
    assert.deepEqual(x, b.delta.get("t0")!.data);
    assert.notDeepEqual(x, c.delta.get("t0")!.data);
    let mean = 0;
    for (const v of x) mean += v / n;
    let varc = 0;
    for (const v of x) varc += (v - mean) ** 2 / (n - 1);
    assert.ok(Math.abs(mean) < 0.02, `mean ${mean}`);
    assert.ok(Math.abs(Math.sqrt(varc) - 1) < 0.02, `std ${Math.sqrt(varc)} (σC = 1)`);
  });

  it("dp - with no subsampling the accountant is the closed form α/(2σ²)·steps minimised over α", () => {
    const orders = defaultRdpOrders();
    for (const [sigma, steps, d] of [[1, 1, 1e-5], [2, 10, 1e-5], [5, 100, 1e-6]] as const) {
      let best = Infinity;
      let bestOrder = NaN;
      for (const a of orders) {
        const e = (steps * a) / (2 * sigma * sigma) - (Math.log(d) + Math.log(a)) / (a - 1) + Math.log((a - 1) / a);
        if (e < best) {
          best = e;
          bestOrder = a;
        }
      }
      const r = computeEpsilon({ noiseMultiplier: sigma, sampleRate: 1, steps, delta: d });
      assert.ok(Math.abs(r.epsilon - best) < 1e-12, `σ=${sigma}: ${r.epsilon} vs ${best}`);
      assert.equal(r.order, bestOrder);
    }
  });

  it("dp - ε grows with steps and shrinks with noise", () => {
    let prev = 0;
    for (const steps of [1, 10, 100, 1000]) {
      const e = computeEpsilon({ noiseMultiplier: 1.1, sampleRate: 0.01, steps, delta: 1e-5 }).epsilon;
      assert.ok(e > prev, `steps ${steps}: ${e} ≤ ${prev}`);
      prev = e;
    }
    prev = Infinity;
    for (const sigma of [0.7, 1, 1.5, 3, 6]) {
      const e = computeEpsilon({ noiseMultiplier: sigma, sampleRate: 0.05, steps: 200, delta: 1e-5 }).epsilon;
      assert.ok(e < prev, `σ ${sigma}: ${e} ≥ ${prev}`);
      prev = e;
    }
    assert.equal(computeEpsilon({ noiseMultiplier: 0, sampleRate: 0.1, steps: 1, delta: 1e-5 }).epsilon, Infinity);
  });

  it("dp - sampled-Gaussian RDP agrees with numerical integration of the definition", () => {
    for (const [q, sigma] of [[0.01, 1.1], [0.1, 2], [0.5, 1.5], [0.2, 0.9]] as const) {
      for (const alpha of [2, 3, 5, 8, 16, 32, 2.5, 7.3]) {
        const got = sampledGaussianRdp(q, sigma, alpha);
        const ref = rdpByIntegration(q, sigma, alpha);
        assert.ok(Math.abs(got - ref) <= 1e-6 * Math.max(1e-6, Math.abs(ref)) + 1e-12, `q=${q} σ=${sigma} α=${alpha}: ${got} vs ${ref}`);
      }
    }
  });

  it("dp - the site ledger composes tasks in RDP, audits each spend and refuses past the budget", async () => {
    const dir = tempDir();
    const ctx = { site: "site-a", stateDir: dir, epsilonBudget: 3, delta: 1e-5 };
    const task = { taskId: "t1", noiseMultiplier: 2, sampleRate: 1, steps: 1, clipNorm: 1 };
    const plan = await recordEpsilonSpend(ctx, task);
    assert.equal(plan.spent, 0);
    assert.ok(plan.after > 2 && plan.after < 3, `first task ε ${plan.after}`);
    assert.throws(
      () => checkEpsilonBudget(ctx, { ...task, taskId: "t2" }),
      (err: unknown) => err instanceof EpsilonBudgetExceededError && /site site-a refuses task t2/.test(err.message) && /budget ε=3/.test(err.message),
    );
    await assert.rejects(recordEpsilonSpend(ctx, { ...task, taskId: "t2" }), EpsilonBudgetExceededError);
    // Two tasks composed in RDP cost less than the sum of their ε.
    const two = computeEpsilon({ noiseMultiplier: 2, sampleRate: 1, steps: 2, delta: 1e-5 }).epsilon;
    assert.ok(two < 2 * plan.after);
    assert.ok(checkEpsilonBudget({ ...ctx, epsilonBudget: 10 }, { ...task, taskId: "t2" }).after - two < 1e-12);
    const log = auditLogPath(dir, "site-a");
    assert.deepEqual(verifyAuditLog(log), { ok: true, entries: 1 });
    const entry = JSON.parse(readFileSync(log, "utf8").trim()) as { type: string; taskId: string; totalEpsilon: number };
    assert.equal(entry.type, "dp-spend");
    assert.equal(entry.taskId, "t1");
    assert.equal(entry.totalEpsilon, plan.after);
  });
});
