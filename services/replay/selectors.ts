/**
 * Exemplar selectors: which of a site's shareable images it offers to the replay buffer. Each is a
 * small pure function of per-image signals (embeddings, losses) the caller computes with the model;
 * the model itself never enters this module.
 */
import { ErrorCode, MedfclError } from "../errors/index.js";
import { sampleReplay, type ReplayItem } from "./samplers.js";

/**
 * The samplers a site can use to choose the exemplars it offers (`TrainTask.exemplar_sampler`).
 * `random` and `class-balanced` need no model; `herding` and `loss-aware` score the images with the
 * model the site has just trained.
 */
export const EXEMPLAR_SAMPLERS = ["random", "class-balanced", "herding", "loss-aware"] as const;
export type ExemplarSampler = (typeof EXEMPLAR_SAMPLERS)[number];

/** Samplers that need the trained model's view of each image. */
export function samplerNeedsModel(sampler: ExemplarSampler): sampler is "herding" | "loss-aware" {
  return sampler === "herding" || sampler === "loss-aware";
}

export function parseExemplarSampler(value: string, field = "exemplar_sampler"): ExemplarSampler {
  if ((EXEMPLAR_SAMPLERS as readonly string[]).includes(value)) return value as ExemplarSampler;
  throw new MedfclError(ErrorCode.InvalidArgument, `unknown exemplar sampler "${value}" in ${field}; use one of ${EXEMPLAR_SAMPLERS.join(", ")}`, {
    details: { field, value },
  });
}

/** Greedy herding (Welling 2009, iCaRL): pick the items whose running mean best tracks the class mean. */
export function herdingOrder(features: readonly Float32Array[], count: number): number[] {
  if (features.length === 0) return [];
  const d = features[0].length;
  const mean = new Float64Array(d);
  for (const f of features) for (let k = 0; k < d; k++) mean[k] += f[k] / features.length;
  const chosen: number[] = [];
  const sum = new Float64Array(d);
  const used = new Set<number>();
  while (chosen.length < Math.min(count, features.length)) {
    let best = -1;
    let bestDist = Infinity;
    const n = chosen.length + 1;
    features.forEach((f, i) => {
      if (used.has(i)) return;
      let dist = 0;
      for (let k = 0; k < d; k++) {
        const diff = mean[k] - (sum[k] + f[k]) / n;
        dist += diff * diff;
      }
      if (dist < bestDist) {
        bestDist = dist;
        best = i;
      }
    });
    used.add(best);
    chosen.push(best);
    for (let k = 0; k < d; k++) sum[k] += features[best][k];
  }
  return chosen;
}

/**
 * Greedy k-center (Gonzalez 1985; the core-set of Sener & Savarese 2018) on L2-normalised
 * embeddings: start at the item nearest the mean, then add the item farthest from everything
 * chosen so far. The subset covers the site's image distribution, including its rare modes.
 */
export function kCenterOrder(features: readonly Float32Array[], count: number): number[] {
  const n = features.length;
  if (n === 0 || count <= 0) return [];
  const d = features[0].length;
  const unit = features.map((f) => {
    let s = 0;
    for (let k = 0; k < d; k++) s += f[k] * f[k];
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    return Float64Array.from(f, (v) => v * inv);
  });
  const dist2 = (a: Float64Array, b: Float64Array): number => {
    let s = 0;
    for (let k = 0; k < d; k++) s += (a[k] - b[k]) ** 2;
    return s;
  };
  const mean = new Float64Array(d);
  for (const u of unit) for (let k = 0; k < d; k++) mean[k] += u[k] / n;
  let first = 0;
  for (let i = 1; i < n; i++) if (dist2(unit[i], mean) < dist2(unit[first], mean)) first = i;
  const chosen = [first];
  const minDist = unit.map((u) => dist2(u, unit[first]));
  while (chosen.length < Math.min(count, n)) {
    let best = -1;
    for (let i = 0; i < n; i++) if (!chosen.includes(i) && (best < 0 || minDist[i] > minDist[best])) best = i;
    chosen.push(best);
    for (let i = 0; i < n; i++) minDist[i] = Math.min(minDist[i], dist2(unit[i], unit[best]));
  }
  return chosen;
}

/**
 * Loss-aware selection: the `count` items with the highest per-image loss under the current model,
 * highest first; equal losses keep the lower index first. The images the model still gets most
 * wrong are the ones its successors are most likely to forget (hard-example replay). Deterministic:
 * no randomness is involved, so the seed does not enter. A loss that is not a finite number is an
 * error (a NaN would sort arbitrarily and silently change the choice).
 */
export function lossAwareOrder(losses: readonly number[], count: number): number[] {
  losses.forEach((loss, i) => {
    if (!Number.isFinite(loss)) {
      throw new MedfclError(ErrorCode.InvalidArgument, `loss-aware sampler: the loss of item ${i} is ${loss}, not a finite number`, { details: { field: "losses", index: i } });
    }
  });
  return losses
    .map((loss, index) => ({ loss, index }))
    .sort((a, b) => b.loss - a.loss || a.index - b.index)
    .slice(0, Math.max(0, count))
    .map((x) => x.index);
}

/** The trained model's view of each candidate, in pool order; computed only when a sampler asks. */
export interface ModelSignals {
  embeddings(): Promise<Float32Array[]>;
  losses(): Promise<number[]>;
}

/**
 * The exemplars a site offers: at most `count` of `pool`. `random` and `class-balanced` are
 * `sampleReplay` seeded by `seed`; `herding` and `loss-aware` order the pool by the model's
 * signals, which must then be given.
 */
export async function selectExemplars<T extends ReplayItem>(pool: readonly T[], count: number, sampler: ExemplarSampler, seed: number, signals: ModelSignals | null): Promise<T[]> {
  if (samplerNeedsModel(sampler) && !signals) {
    throw new MedfclError(ErrorCode.FailedPrecondition, `the ${sampler} exemplar sampler needs the trained model, and none was given`, { details: { field: "exemplar_sampler", value: sampler } });
  }
  switch (sampler) {
    case "random":
    case "class-balanced":
      return sampleReplay(pool, count, sampler, seed) as T[];
    case "herding":
      return herdingOrder(await signals!.embeddings(), count).map((i) => pool[i]);
    case "loss-aware":
      return lossAwareOrder(await signals!.losses(), count).map((i) => pool[i]);
    default: {
      const never: never = sampler;
      return never;
    }
  }
}
