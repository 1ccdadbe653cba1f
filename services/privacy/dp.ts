/**
 * Site-level DP-FedAvg style privatization of a weight delta: clip the whole update to L2 norm ≤ C,
 * then add N(0, (σC)²) to every coordinate. One call is one Gaussian mechanism with L2 sensitivity
 * C for adding or removing the site's contribution; computeEpsilon composes them over rounds.
 */
import { l2Norm, mapTensors, type TensorMap } from "../tensors/index.js";
import { PrivacyArgumentError } from "./errors.js";

export interface PrivatizeOptions {
  clipNorm: number;
  noiseMultiplier: number;
  seed: number;
}

/** splitmix64 over BigInt would be slow; this is splitmix32 (Vigna's constants), a full-period 32-bit mixer. */
export function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Seeded standard normal sampler: 53-bit uniforms from two 32-bit draws, Box–Muller (both outputs used). */
export function gaussianSampler(seed: number): () => number {
  const next = splitmix32(seed);
  const uniform = (): number => ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

export function privatizeDelta(delta: TensorMap, opts: PrivatizeOptions): { delta: TensorMap; norm: number; clipped: boolean } {
  if (!(opts.clipNorm > 0) || !Number.isFinite(opts.clipNorm)) throw new PrivacyArgumentError(`clipNorm must be a positive number, got ${opts.clipNorm}`, { details: { field: "clipNorm" } });
  if (!(opts.noiseMultiplier >= 0) || !Number.isFinite(opts.noiseMultiplier)) {
    throw new PrivacyArgumentError(`noiseMultiplier must be ≥ 0, got ${opts.noiseMultiplier}`, { details: { field: "noiseMultiplier" } });
  }
  const norm = l2Norm(delta);
  if (!Number.isFinite(norm)) throw new PrivacyArgumentError("the delta holds NaN or ±Infinity; refuse it before privatizing", { details: { field: "delta" } });
  const clipped = norm > opts.clipNorm;
  const scale = clipped ? opts.clipNorm / norm : 1;
  const std = opts.noiseMultiplier * opts.clipNorm;
  const gauss = gaussianSampler(opts.seed);
  const out = mapTensors(delta, (t) => {
    const d = new Float32Array(t.data.length);
    for (let i = 0; i < d.length; i++) d[i] = t.data[i] * scale + (std > 0 ? std * gauss() : 0);
    return d;
  });
  return { delta: out, norm, clipped };
}
