import { assertSameLayout, mapTensors, type TensorMap } from "../../services/tensors/index.js";
import type { AggregateResult, Hyper, SiteUpdate, TaskPlan } from "./strategy.js";

/** FedAvg: Σ n_i·Δ_i / Σ n_i, accumulated in float64 so the order of sites does not change the sum's bits much. */
export function weightedMeanDeltas(updates: SiteUpdate[]): TensorMap {
  const first = updates[0].delta;
  for (const u of updates.slice(1)) assertSameLayout(first, u.delta, `update from ${u.siteId}`);
  const total = updates.reduce((s, u) => s + Math.max(0, u.numSamples), 0);
  const weights = updates.map((u) => (total > 0 ? Math.max(0, u.numSamples) / total : 1 / updates.length));
  return mapTensors(first, (t, name) => {
    const acc = new Float64Array(t.data.length);
    updates.forEach((u, k) => {
      const d = u.delta.get(name)!.data;
      const w = weights[k];
      for (let i = 0; i < acc.length; i++) acc[i] += w * d[i];
    });
    return Float32Array.from(acc);
  });
}

export function fedAvg(updates: SiteUpdate[]): AggregateResult | null {
  if (updates.length === 0) return null;
  return {
    delta: weightedMeanDeltas(updates),
    metrics: { sites: updates.length, samples: updates.reduce((s, u) => s + u.numSamples, 0) },
  };
}

export function plainTask(siteId: string, hyper: Hyper, extra: Partial<TaskPlan> = {}): TaskPlan {
  return { siteId, hyper, exemplarIds: [], exemplarsWanted: 0, exemplarSampler: "random", shots: 0, shotsSelection: "random", ...extra };
}
