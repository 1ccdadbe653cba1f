/**
 * Continual-learning metrics over an accuracy matrix R (T steps × D domains, AP in percent),
 * with the formulas of DESIGN.md written 0-indexed (step i trained on domain i, i < T):
 *
 *   ACC = mean_{j<T} R[T-1][j]
 *   BWT = mean_{j<T-1} (R[T-1][j] - R[j][j])
 *   FWT = mean_{1<=j<T} (R[j-1][j] - b_j)
 *   f_j = max_{l<T-1} R[l][j] - R[T-1][j],   F = mean_{j<T-1} f_j
 *   avg_ap_per_step[i] = mean_{j<T} R[i][j]
 *
 * Missing entries (null: a domain not evaluated at a step) follow one rule: each metric is a mean
 * of terms, a term that needs a missing entry (or a missing base AP) is dropped, and the mean is
 * over the terms that remain; with no term left the metric is null. For f_j the max runs over the
 * earlier rows that are present. With a single step (T = 1) BWT, FWT and every f_j are null.
 * Domains after the first T are test-only: they are outside ACC, BWT, FWT, F and the per-step
 * average; their f_j is still reported (same formula), so drops on unseen domains show up.
 */
import { EvalInputError } from "./errors.js";
import { type AccuracyMatrix, type ClMetrics } from "./types.js";

function mean(terms: number[]): number | null {
  if (terms.length === 0) return null;
  let s = 0;
  for (const t of terms) s += t;
  return s / terms.length;
}

function isEntry(v: unknown): v is number | null {
  return v === null || (typeof v === "number" && Number.isFinite(v));
}

/** Validates `{steps, domains, ap}`; errors name the source file, the row/column and the field. */
export function parseAccuracyMatrix(json: unknown, source = "R.json"): AccuracyMatrix {
  const bad = (msg: string, details: Record<string, unknown> = {}): never => {
    throw new EvalInputError(`${source}: ${msg}`, { details: { file: source, ...details } });
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) bad(`expected {"steps": [...], "domains": [...], "ap": [[...]]}`);
  const o = json as Record<string, unknown>;
  const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");
  if (!isStrings(o.steps) || o.steps.length === 0) bad(`"steps" must be a non-empty array of strings`, { field: "steps" });
  if (!isStrings(o.domains)) bad(`"domains" must be an array of strings`, { field: "domains" });
  const steps = o.steps as string[];
  const domains = o.domains as string[];
  if (new Set(domains).size !== domains.length) bad(`"domains" has duplicate names`, { field: "domains" });
  if (domains.length < steps.length) {
    bad(`${steps.length} steps but only ${domains.length} domains; step i trains on domain i, so list at least as many domains as steps`, {
      field: "domains",
    });
  }
  if (!Array.isArray(o.ap) || o.ap.length !== steps.length) bad(`"ap" must have one row per step (${steps.length})`, { field: "ap" });
  const ap = o.ap as unknown[];
  ap.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== domains.length) {
      bad(`ap[${i}] (step "${steps[i]}") must have one entry per domain (${domains.length})`, { field: `ap[${i}]` });
    }
    (row as unknown[]).forEach((v, j) => {
      if (!isEntry(v)) bad(`ap[${i}][${j}] (step "${steps[i]}", domain "${domains[j]}") must be a number (AP in percent) or null`, { field: `ap[${i}][${j}]` });
    });
  });
  return { steps: [...steps], domains: [...domains], ap: (ap as (number | null)[][]).map((r) => [...r]) };
}

/** Validates `{"<domain>": ap}`. Domains not in R are ignored by continualMetrics. */
export function parseBaseAp(json: unknown, source = "base.json"): Record<string, number> {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new EvalInputError(`${source}: expected {"<domain>": ap, ...}`, { details: { file: source } });
  }
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(json)) {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new EvalInputError(`${source}: the base AP of domain "${k}" must be a number, got ${JSON.stringify(v)}`, { details: { file: source, field: k } });
    }
    out[k] = v;
  }
  return out;
}

/** ACC, BWT, FWT (null without `base`), forgetting and the per-step average; see the file comment for null handling. */
export function continualMetrics(R: AccuracyMatrix, base?: Record<string, number>): ClMetrics {
  const T = R.steps.length;
  const D = R.domains.length;
  if (T === 0 || D < T || R.ap.length !== T || R.ap.some((row) => row.length !== D)) {
    throw new EvalInputError(`accuracy matrix shape is ${R.ap.length}×${R.ap[0]?.length ?? 0}, expected ${T} steps × ${D} domains with domains >= steps`);
  }
  const at = (i: number, j: number): number | null => R.ap[i][j];
  const last = T - 1;
  const present = (xs: (number | null)[]): number[] => xs.filter((x): x is number => x !== null);

  const acc = mean(present(Array.from({ length: T }, (_, j) => at(last, j))));

  const bwtTerms: number[] = [];
  for (let j = 0; j < last; j++) {
    const a = at(last, j);
    const b = at(j, j);
    if (a !== null && b !== null) bwtTerms.push(a - b);
  }
  const bwt = T > 1 ? mean(bwtTerms) : null;

  let fwt: number | null = null;
  if (base && T > 1) {
    const terms: number[] = [];
    for (let j = 1; j < T; j++) {
      const a = at(j - 1, j);
      const b = base[R.domains[j]];
      if (a !== null && b !== undefined) terms.push(a - b);
    }
    fwt = mean(terms);
  }

  const perDomain: Record<string, number | null> = {};
  const trainedF: number[] = [];
  for (let j = 0; j < D; j++) {
    let f: number | null = null;
    const now = at(last, j);
    if (j !== last && now !== null) {
      const earlier = present(Array.from({ length: last }, (_, l) => at(l, j)));
      if (earlier.length > 0) f = Math.max(...earlier) - now;
    }
    perDomain[R.domains[j]] = f;
    if (j < last && f !== null) trainedF.push(f);
  }

  const avgApPerStep = R.ap.map((row) => mean(present(row.slice(0, T))));

  return { acc, bwt, fwt, forgetting: { per_domain: perDomain, mean: mean(trainedF) }, avg_ap_per_step: avgApPerStep };
}

/**
 * Fills R step by step as evaluations arrive (update/result/reset, like the other metrics).
 * Unset entries stay null.
 */
export class AccuracyMatrixBuilder {
  readonly #steps: string[];
  readonly #domains: string[];
  #ap: (number | null)[][];

  constructor(steps: string[], domains: string[]) {
    if (domains.length < steps.length) throw new EvalInputError(`${steps.length} steps need at least as many domains, got ${domains.length}`);
    this.#steps = [...steps];
    this.#domains = [...domains];
    this.#ap = steps.map(() => domains.map(() => null));
  }

  update(step: string, domain: string, ap: number): void {
    const i = this.#steps.indexOf(step);
    const j = this.#domains.indexOf(domain);
    if (i < 0 || j < 0) throw new EvalInputError(`unknown ${i < 0 ? `step "${step}"` : `domain "${domain}"`} for the accuracy matrix`, { details: { step, domain } });
    if (!Number.isFinite(ap)) throw new EvalInputError(`AP for step "${step}", domain "${domain}" must be finite, got ${ap}`);
    this.#ap[i][j] = ap;
  }

  result(): AccuracyMatrix {
    return { steps: [...this.#steps], domains: [...this.#domains], ap: this.#ap.map((r) => [...r]) };
  }

  reset(): void {
    this.#ap = this.#steps.map(() => this.#domains.map(() => null));
  }
}

/** `step,<domain>,...` then one row per step; missing entries are empty cells. */
export function accuracyMatrixCsv(R: AccuracyMatrix): string {
  const esc = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = [["step", ...R.domains].map(esc).join(",")];
  R.ap.forEach((row, i) => lines.push([esc(R.steps[i]), ...row.map((v) => (v === null ? "" : String(v)))].join(",")));
  return `${lines.join("\n")}\n`;
}

/** A plain-text table of R and the metrics, for terminals. */
export function formatMetricsTable(R: AccuracyMatrix, m: ClMetrics): string {
  const fmt = (v: number | null) => (v === null ? "-" : v.toFixed(2));
  const w = Math.max(8, ...R.steps.map((s) => s.length)) + 2;
  const cw = Math.max(8, ...R.domains.map((d) => d.length)) + 2;
  const T = R.steps.length;
  const head = "step".padEnd(w) + R.domains.map((d, j) => `${d}${j >= T ? "*" : ""}`.padStart(cw)).join("") + "avg".padStart(cw);
  const rows = R.ap.map((row, i) => R.steps[i].padEnd(w) + row.map((v) => fmt(v).padStart(cw)).join("") + fmt(m.avg_ap_per_step[i]).padStart(cw));
  const forg = "forgetting".padEnd(w) + R.domains.map((d) => fmt(m.forgetting.per_domain[d]).padStart(cw)).join("");
  const lines = [head, ...rows, forg, ""];
  lines.push(`ACC ${fmt(m.acc)}   BWT ${fmt(m.bwt)}   FWT ${fmt(m.fwt)}   mean forgetting ${fmt(m.forgetting.mean)}`);
  if (R.domains.length > T) lines.push("* test-only domain (outside ACC, BWT, FWT and the averages)");
  return lines.join("\n");
}
