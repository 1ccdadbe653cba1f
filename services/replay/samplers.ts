/**
 * Replay-buffer samplers: which stored exemplars go into the next step's training mix. Pure and
 * seeded, shared by the coordinator (buffer rebuild) and the site agent (which candidates to offer).
 */
import { mulberry32 } from "../data/prng.js";
import { ErrorCode, MedfclError } from "../errors/index.js";

export const REPLAY_SAMPLERS = ["random", "reservoir", "class-balanced"] as const;
export type ReplaySampler = (typeof REPLAY_SAMPLERS)[number];

export interface ReplayItem {
  id: string;
  /** Domain (or site) the exemplar came from; class-balanced sampling balances over domain × class. */
  domain: string;
  categoryIds: number[];
  /** Arrival order; reservoir sampling depends on it. */
  order: number;
}

export function parseReplaySampler(value: string, field = "sampler"): ReplaySampler {
  if ((REPLAY_SAMPLERS as readonly string[]).includes(value)) return value as ReplaySampler;
  throw new MedfclError(ErrorCode.InvalidArgument, `unknown replay sampler "${value}" in ${field}; use one of ${REPLAY_SAMPLERS.join(", ")}`, {
    details: { field, value },
  });
}

function shuffled<T>(items: readonly T[], rand: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function randomSample(pool: readonly ReplayItem[], size: number, rand: () => number): ReplayItem[] {
  return shuffled(pool, rand).slice(0, size);
}

/** Algorithm R over the pool in arrival order: each item ends up kept with probability size/n. */
function reservoirSample(pool: readonly ReplayItem[], size: number, rand: () => number): ReplayItem[] {
  const stream = [...pool].sort((a, b) => a.order - b.order || (a.id < b.id ? -1 : 1));
  const reservoir: ReplayItem[] = [];
  stream.forEach((item, i) => {
    if (i < size) reservoir.push(item);
    else {
      const j = Math.floor(rand() * (i + 1));
      if (j < size) reservoir[j] = item;
    }
  });
  return reservoir;
}

/**
 * Round-robin over (domain, first category) groups, each group shuffled: every domain and class
 * gets an equal share until it runs out, so a small domain is not drowned by a large one.
 */
function classBalancedSample(pool: readonly ReplayItem[], size: number, rand: () => number): ReplayItem[] {
  const groups = new Map<string, ReplayItem[]>();
  for (const item of pool) {
    const key = `${item.domain}\u0000${item.categoryIds[0] ?? -1}`;
    const g = groups.get(key) ?? [];
    g.push(item);
    groups.set(key, g);
  }
  const queues = [...groups.keys()].sort().map((k) => shuffled(groups.get(k)!, rand));
  const out: ReplayItem[] = [];
  while (out.length < size && queues.some((q) => q.length > 0)) {
    for (const q of queues) {
      const item = q.shift();
      if (item && out.length < size) out.push(item);
    }
  }
  return out;
}

/** Picks at most `size` items; deterministic for a given seed and pool. */
export function sampleReplay(pool: readonly ReplayItem[], size: number, sampler: ReplaySampler, seed: number): ReplayItem[] {
  if (size <= 0 || pool.length === 0) return [];
  const rand = mulberry32(seed);
  switch (sampler) {
    case "random":
      return randomSample(pool, size, rand);
    case "reservoir":
      return reservoirSample(pool, size, rand);
    case "class-balanced":
      return classBalancedSample(pool, size, rand);
    default: {
      const never: never = sampler;
      return never;
    }
  }
}
