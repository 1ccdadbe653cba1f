/**
 * Rényi DP accountant for the sampled Gaussian mechanism (Mironov 2017; Mironov, Talwar & Zhang
 * 2019, §3.3), and the RDP -> (ε, δ) conversion of Balle et al. 2020 (Thm 21), as opacus uses.
 * Everything is in log space; integer orders use the finite binomial sum, fractional orders the
 * two-sided series with erfc tails.
 */
import { PrivacyArgumentError } from "./errors.js";

/** opacus' default orders: 1.1 … 10.9 in steps of 0.1, then 12 … 63. */
export function defaultRdpOrders(): number[] {
  const out: number[] = [];
  for (let x = 1; x < 100; x++) out.push(1 + x / 10);
  for (let a = 12; a < 64; a++) out.push(a);
  return out;
}

function logAdd(a: number, b: number): number {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  if (lo === -Infinity) return hi;
  return Math.log1p(Math.exp(lo - hi)) + hi;
}

function logSub(a: number, b: number): number {
  if (b === -Infinity) return a;
  if (a <= b) return -Infinity;
  const d = a - b;
  return (d > 700 ? d : Math.log(Math.expm1(d))) + b;
}

/** log Γ(x) by Lanczos (g=7, n=9), accurate to ~1e-15 relative for x > 0. */
export function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const y = x - 1;
  let a = c[0];
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

function logBinomInt(n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

/**
 * log erfc(x), accurate in the far right tail (continued fraction) where erfc underflows.
 * For x ≤ 0.5 uses 1 − erf(x) from its Taylor series.
 */
export function logErfc(x: number): number {
  if (x <= 0.5) {
    if (x < -6) return Math.log(2);
    // erf Taylor series: 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1)).
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.log(1 - (2 / Math.sqrt(Math.PI)) * sum);
  }
  // erfc(x) = exp(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), modified Lentz.
  const tiny = 1e-300;
  let f = x;
  let C = x;
  let D = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    D = x + a * D;
    D = Math.abs(D) < tiny ? tiny : D;
    C = x + a / C;
    C = Math.abs(C) < tiny ? tiny : C;
    D = 1 / D;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return -x * x - 0.5 * Math.log(Math.PI) - Math.log(f);
}

function logAInt(q: number, sigma: number, alpha: number): number {
  let logA = -Infinity;
  for (let i = 0; i <= alpha; i++) {
    const coef = logBinomInt(alpha, i) + i * Math.log(q) + (alpha - i) * Math.log1p(-q);
    logA = logAdd(logA, coef + (i * i - i) / (2 * sigma * sigma));
  }
  return logA;
}

function logAFrac(q: number, sigma: number, alpha: number): number {
  let logA0 = -Infinity;
  let logA1 = -Infinity;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  let coef = 1; // binom(alpha, i), built by the product recurrence; its sign alternates past alpha.
  for (let i = 0; i < 10000; i++) {
    if (i > 0) coef *= (alpha - (i - 1)) / i;
    const logCoef = Math.log(Math.abs(coef));
    const j = alpha - i;
    const logT0 = logCoef + i * Math.log(q) + j * Math.log1p(-q);
    const logT1 = logCoef + j * Math.log(q) + i * Math.log1p(-q);
    const logE0 = Math.log(0.5) + logErfc((i - z0) / (Math.SQRT2 * sigma));
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / (Math.SQRT2 * sigma));
    const logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
    if (coef > 0) {
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
    } else {
      logA0 = logSub(logA0, logS0);
      logA1 = logSub(logA1, logS1);
    }
    if (Math.max(logS0, logS1) < -30) break;
  }
  return logAdd(logA0, logA1);
}

/** RDP of one step of the sampled Gaussian mechanism at order `alpha` (> 1). */
export function sampledGaussianRdp(q: number, sigma: number, alpha: number): number {
  if (q === 0) return 0;
  if (sigma === 0) return Infinity;
  if (q === 1) return alpha / (2 * sigma * sigma);
  if (!Number.isFinite(alpha)) return Infinity;
  const logA = Number.isInteger(alpha) ? logAInt(q, sigma, alpha) : logAFrac(q, sigma, alpha);
  return logA / (alpha - 1);
}

/** RDP -> (ε, δ): ε(α) = rdp − (log δ + log α)/(α − 1) + log((α − 1)/α), minimised over α. */
export function rdpToEpsilon(orders: number[], rdp: number[], delta: number): { epsilon: number; order: number } {
  let best = Infinity;
  let order = NaN;
  for (let i = 0; i < orders.length; i++) {
    const a = orders[i];
    const eps = rdp[i] - (Math.log(delta) + Math.log(a)) / (a - 1) + Math.log((a - 1) / a);
    if (Number.isFinite(eps) && eps < best) {
      best = eps;
      order = a;
    }
  }
  return { epsilon: Math.max(0, best), order };
}

export interface ComputeEpsilonOptions {
  noiseMultiplier: number;
  /** Probability that a unit (record or site) takes part in one step; 1 for full participation. */
  sampleRate: number;
  steps: number;
  delta: number;
  orders?: number[];
}

export function computeEpsilon(opts: ComputeEpsilonOptions): { epsilon: number; order: number } {
  const { noiseMultiplier: sigma, sampleRate: q, steps, delta } = opts;
  if (!(sigma >= 0)) throw new PrivacyArgumentError(`noiseMultiplier must be ≥ 0, got ${sigma}`, { details: { field: "noiseMultiplier" } });
  if (!(q >= 0 && q <= 1)) throw new PrivacyArgumentError(`sampleRate must be in [0, 1], got ${q}`, { details: { field: "sampleRate" } });
  if (!(steps >= 0) || !Number.isInteger(steps)) throw new PrivacyArgumentError(`steps must be a whole number ≥ 0, got ${steps}`, { details: { field: "steps" } });
  if (!(delta > 0 && delta < 1)) throw new PrivacyArgumentError(`delta must be in (0, 1), got ${delta}`, { details: { field: "delta" } });
  const orders = opts.orders ?? defaultRdpOrders();
  if (orders.some((a) => !(a > 1))) throw new PrivacyArgumentError("every RDP order must be > 1", { details: { field: "orders" } });
  if (steps === 0 || q === 0) return { epsilon: 0, order: orders[0] };
  const rdp = orders.map((a) => steps * sampledGaussianRdp(q, sigma, a));
  return rdpToEpsilon(orders, rdp, delta);
}
