/**
 * Pure functions from runs' R matrices to the paper's tables (Tables 1–4), their aggregation over
 * seeds (mean ± sample std), and their CSV and Markdown forms. No I/O here.
 */
import { continualMetrics, type AccuracyMatrix, type CrossMatrix, type ParadigmTable } from "../services/eval/index.js";
import { ExperimentError } from "./errors.js";
import { hasPerDomainModels, isContinual } from "./plan.js";
import type { MeanStd, PlannedRun, RunResult } from "./types.js";

/**
 * The paper's averages (AP %, DESIGN.md), keyed by our paradigm labels; shown beside ours. The
 * paper's joint models are trained centrally on pooled data, so they sit beside joint-central.
 */
export const PAPER_AVERAGES: Record<"polyp" | "tasks", Record<string, number>> = {
  polyp: { "zero-shot": 4.3, specialized: 74.6, "joint-central": 70.0, "joint-central-100": 68.1, sequential: 27.2, rehearsal: 64.9 },
  tasks: { "zero-shot": 2.9, specialized: 59.2, "joint-central": 58.1, "joint-central-100": 47.1, sequential: 17.3, rehearsal: 48.0 },
};

const present = (xs: (number | null)[]): number[] => xs.filter((x): x is number => x !== null && Number.isFinite(x));
const mean = (xs: (number | null)[]): number | null => {
  const p = present(xs);
  return p.length ? p.reduce((a, b) => a + b, 0) / p.length : null;
};

/** Mean and sample standard deviation (n − 1) of the values present; std is null below two values. */
export function meanStd(xs: (number | null)[]): MeanStd {
  const p = present(xs);
  const m = mean(p);
  if (m === null) return { mean: null, std: null, n: 0 };
  const std = p.length > 1 ? Math.sqrt(p.reduce((s, x) => s + (x - m) ** 2, 0) / (p.length - 1)) : null;
  return { mean: m, std, n: p.length };
}

/** Tables 1/2: rows = the specialized models (train domains), columns = every evaluated domain. */
export function crossMatrixFromR(R: AccuracyMatrix): CrossMatrix {
  return { train: [...R.steps], test: [...R.domains], ap: R.ap.map((r) => [...r]) };
}

function rowAt(R: AccuracyMatrix, i: number, domains: string[]): (number | null)[] {
  return domains.map((d) => {
    const j = R.domains.indexOf(d);
    return j < 0 ? null : (R.ap[i]?.[j] ?? null);
  });
}

/**
 * Tables 3/4 from one seed's runs. Columns are every evaluated domain (trained ones first); `avg`
 * is over the trained domains only (test-only domains are reported apart, as ACC does).
 * zero-shot = base model; specialized = the diagonal of its R; joint and continual runs = the
 * final row of R; `bwt` only for continual runs.
 */
export function paradigmTableFor(plan: PlannedRun[], results: RunResult[]): ParadigmTable {
  const byLabel = new Map(results.map((r) => [r.label, r]));
  const first = results[0];
  if (!first) throw new ExperimentError("no run finished, so there is no paradigm table to build", { details: { field: "runs" } });
  const domains = [...first.R.domains];
  const trained = (byLabel.get("specialized") ?? results.find((r) => isContinual(plan.find((p) => p.label === r.label)?.strategy ?? "")) ?? first).R.steps;
  const avgTrained = (ap: (number | null)[]): number | null => mean(ap.filter((_, j) => trained.includes(domains[j])));
  const rows: ParadigmTable["rows"] = [];
  const base = first.base;
  const zero = domains.map((d) => (d in base ? base[d] : null));
  rows.push({ paradigm: "zero-shot", ap: zero, avg: avgTrained(zero), bwt: null });
  for (const p of plan) {
    const r = byLabel.get(p.label);
    if (!r) continue;
    const T = r.R.steps.length;
    let ap: (number | null)[];
    let bwt: number | null = null;
    if (hasPerDomainModels(p.strategy)) {
      ap = domains.map((d) => {
        const i = r.R.steps.indexOf(d);
        return i < 0 ? null : rowAt(r.R, i, [d])[0];
      });
    } else {
      ap = rowAt(r.R, T - 1, domains);
      if (isContinual(p.strategy)) bwt = continualMetrics(r.R, r.base).bwt;
    }
    rows.push({ paradigm: p.label, ap, avg: avgTrained(ap), bwt });
  }
  return { domains, rows };
}

/** Cellwise mean ± std of same-shaped tables (one per seed). */
export function aggregateParadigms(tables: ParadigmTable[]): { mean: ParadigmTable; std: ParadigmTable } {
  const first = tables[0];
  if (!first) throw new ExperimentError("no seed finished, so there is nothing to aggregate", { details: { field: "seeds" } });
  const cell = (pick: (t: ParadigmTable) => number | null) => meanStd(tables.map(pick));
  const rowsOf = (which: "mean" | "std") =>
    first.rows.map((row, i) => {
      const find = (t: ParadigmTable) => t.rows.find((r) => r.paradigm === row.paradigm) ?? t.rows[i];
      return {
        paradigm: row.paradigm,
        ap: first.domains.map((_, j) => cell((t) => find(t).ap[j])[which]),
        avg: cell((t) => find(t).avg)[which],
        bwt: cell((t) => find(t).bwt)[which],
      };
    });
  return { mean: { domains: [...first.domains], rows: rowsOf("mean") }, std: { domains: [...first.domains], rows: rowsOf("std") } };
}

/** Cellwise mean ± std of same-shaped matrices; works for cross matrices and R alike. */
export function aggregateCells(mats: (number | null)[][][]): { mean: (number | null)[][]; std: (number | null)[][] } {
  const first = mats[0];
  if (!first) throw new ExperimentError("no seed finished, so there is nothing to aggregate", { details: { field: "seeds" } });
  const stats = first.map((row, i) => row.map((_, j) => meanStd(mats.map((m) => m[i]?.[j] ?? null))));
  return { mean: stats.map((r) => r.map((c) => c.mean)), std: stats.map((r) => r.map((c) => c.std)) };
}

const f1 = (v: number | null | undefined): string => (v === null || v === undefined ? "–" : v.toFixed(1));
const pm = (m: number | null | undefined, s: number | null | undefined): string => (m === null || m === undefined ? "–" : s === null || s === undefined ? f1(m) : `${f1(m)} ± ${f1(s)}`);
const csvNum = (v: number | null | undefined): string => (v === null || v === undefined ? "" : String(v));

/** Paper label of one of our rows (joint-100 → joint-100 at any shot count is not assumed). */
function paperAverage(suite: "polyp" | "tasks", paradigm: string): number | null {
  return PAPER_AVERAGES[suite][paradigm] ?? null;
}

/** Tables 3/4 in the paper's layout: paradigm × domain, AVG, BWT, and the paper's AVG beside ours. */
export function paradigmsMarkdown(mean: ParadigmTable, std: ParadigmTable, trained: string[], suite: "polyp" | "tasks"): string {
  const testOnly = mean.domains.filter((d) => !trained.includes(d));
  const head = ["paradigm", ...mean.domains.map((d) => (trained.includes(d) ? d : `${d}*`)), "AVG", ...(testOnly.length ? ["AVG test-only*"] : []), "BWT", "paper AVG"];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`];
  mean.rows.forEach((r, i) => {
    const s = std.rows[i];
    const tj = mean.domains.map((d, j) => (testOnly.includes(d) ? j : -1)).filter((j) => j >= 0);
    const toAvg = tj.length ? meanStdOfRowMean(r.ap, tj) : null;
    const cells = [r.paradigm, ...r.ap.map((v, j) => pm(v, s?.ap[j])), pm(r.avg, s?.avg), ...(testOnly.length ? [f1(toAvg)] : []), pm(r.bwt, s?.bwt), f1(paperAverage(suite, r.paradigm))];
    lines.push(`| ${cells.join(" | ")} |`);
  });
  if (testOnly.length) lines.push("", "\\* test-only domain: no model trains on it; outside AVG and BWT.");
  return `${lines.join("\n")}\n`;
}

function meanStdOfRowMean(ap: (number | null)[], cols: number[]): number | null {
  return mean(cols.map((j) => ap[j]));
}

export function paradigmsCsv(mean: ParadigmTable, std: ParadigmTable): string {
  const head = ["paradigm", ...mean.domains, "avg", "bwt", ...mean.domains.map((d) => `${d}_std`), "avg_std", "bwt_std"];
  const lines = [head.join(",")];
  mean.rows.forEach((r, i) => {
    const s = std.rows[i];
    lines.push([r.paradigm, ...r.ap.map(csvNum), csvNum(r.avg), csvNum(r.bwt), ...(s?.ap ?? []).map(csvNum), csvNum(s?.avg), csvNum(s?.bwt)].join(","));
  });
  return `${lines.join("\n")}\n`;
}

/** Row mean over all test columns (the paper's AVG column of Tables 1/2). */
export function rowAverages(m: CrossMatrix): (number | null)[] {
  return m.ap.map((row) => mean(row));
}

/** Tables 1/2 in the paper's layout: train rows × test columns, diagonal in bold, AVG column. */
export function matrixMarkdown(m: CrossMatrix, std: (number | null)[][]): string {
  const trainedCols = new Set(m.train);
  const head = ["train \\ test", ...m.test.map((d) => (trainedCols.has(d) ? d : `${d}*`)), "AVG"];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`];
  const avgs = rowAverages(m);
  m.ap.forEach((row, i) => {
    const cells = row.map((v, j) => {
      const text = pm(v, std[i]?.[j]);
      return m.test[j] === m.train[i] ? `**${text}**` : text;
    });
    lines.push(`| ${[m.train[i], ...cells, f1(avgs[i])].join(" | ")} |`);
  });
  if (m.test.some((d) => !trainedCols.has(d))) lines.push("", "\\* test-only domain. Bold: the diagonal (the model evaluated on its own domain).");
  return `${lines.join("\n")}\n`;
}

export function matrixCsv(m: CrossMatrix, std: (number | null)[][]): string {
  const lines = [["train", ...m.test, "avg", ...m.test.map((d) => `${d}_std`)].join(",")];
  const avgs = rowAverages(m);
  m.ap.forEach((row, i) => lines.push([m.train[i], ...row.map(csvNum), csvNum(avgs[i]), ...(std[i] ?? []).map(csvNum)].join(",")));
  return `${lines.join("\n")}\n`;
}

export interface Check {
  name: string;
  pass: boolean | null;
  detail: string;
}

/**
 * The acceptance claims, evaluated on the measured (mean) tables. `pass` null = not
 * applicable (a row is missing). Nothing here changes a number; it only reports.
 */
export function acceptanceChecks(table: ParadigmTable | undefined, matrix: CrossMatrix | undefined, stylized = "singan"): Check[] {
  const checks: Check[] = [];
  if (table) {
    const avg = (p: string) => table.rows.find((r) => r.paradigm === p)?.avg ?? null;
    const bwt = (p: string) => table.rows.find((r) => r.paradigm === p)?.bwt ?? null;
    // The paper's joint is centralised; the federated joint row stands in when no pooled run exists.
    const jointRow = table.rows.some((r) => r.paradigm === "joint-central") ? "joint-central" : "joint";
    const [spec, joint, reh, seq] = [avg("specialized"), avg(jointRow), avg("rehearsal"), avg("sequential")];
    const ordered = spec !== null && joint !== null && reh !== null && seq !== null ? spec >= joint && joint > reh && reh > seq : null;
    checks.push({ name: `specialized ≥ joint > rehearsal > sequential (AVG; joint = ${jointRow})`, pass: ordered, detail: `${f1(spec)} / ${f1(joint)} / ${f1(reh)} / ${f1(seq)}` });
    const sb = bwt("sequential");
    const rb = bwt("rehearsal");
    checks.push({ name: "sequential BWT ≤ −20", pass: sb === null ? null : sb <= -20, detail: `BWT ${f1(sb)}` });
    checks.push({ name: "rehearsal BWT at least half as bad as sequential's", pass: sb === null || rb === null ? null : rb >= sb / 2, detail: `rehearsal ${f1(rb)} vs sequential/2 = ${f1(sb === null ? null : sb / 2)}` });
  }
  if (matrix) {
    const diagOk = matrix.ap.map((row, i) => {
      const j = matrix.test.indexOf(matrix.train[i]);
      const d = j < 0 ? null : row[j];
      return d !== null && row.every((v, k) => k === j || v === null || v <= d);
    });
    const failing = matrix.train.filter((_, i) => !diagOk[i]);
    checks.push({ name: "the diagonal dominates each row", pass: failing.length === 0, detail: failing.length ? `not in rows ${failing.join(", ")}` : `all ${matrix.train.length} rows` });
    const off = matrix.ap.map((row, i) => mean(row.filter((_, k) => matrix.test[k] !== matrix.train[i])));
    const si = matrix.train.indexOf(stylized);
    if (si >= 0) {
      const lowest = off.every((v, i) => i === si || v === null || (off[si] !== null && off[si]! <= v));
      checks.push({
        name: `the stylized domain's row (${stylized}) has the lowest off-diagonal average`,
        pass: off[si] === null ? null : lowest,
        detail: matrix.train.map((t, i) => `${t} ${f1(off[i])}`).join(", "),
      });
    }
  }
  return checks;
}

export function checksMarkdown(checks: Check[]): string {
  const lines = ["| claim | holds | measured |", "|---|---|---|"];
  for (const c of checks) lines.push(`| ${c.name} | ${c.pass === null ? "n/a" : c.pass ? "yes" : "**no**"} | ${c.detail} |`);
  return `${lines.join("\n")}\n`;
}

/** Ranks with ties sharing their mean rank (1-based). */
function ranks(xs: number[]): number[] {
  const order = xs.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
  const r = new Array<number>(xs.length);
  for (let k = 0; k < order.length; ) {
    let e = k;
    while (e + 1 < order.length && order[e + 1].v === order[k].v) e++;
    for (let t = k; t <= e; t++) r[order[t].i] = (k + e) / 2 + 1;
    k = e + 1;
  }
  return r;
}

/** Spearman's rank correlation: Pearson's correlation of the ranks (ties get mean ranks). */
export function spearman(a: number[], b: number[]): number {
  if (a.length !== b.length || a.length < 2) throw new ExperimentError(`rank correlation needs two series of the same length ≥ 2, got ${a.length} and ${b.length}`);
  const ra = ranks(a);
  const rb = ranks(b);
  const m = (ra.length + 1) / 2;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < ra.length; i++) {
    sab += (ra[i] - m) * (rb[i] - m);
    saa += (ra[i] - m) ** 2;
    sbb += (rb[i] - m) ** 2;
  }
  return saa === 0 || sbb === 0 ? Number.NaN : sab / Math.sqrt(saa * sbb);
}

/**
 * How alike two suites' transfer patterns are: Spearman's correlation over the off-diagonal cells
 * (a model trained on one domain, tested on another) that both matrices have. `map` renames domains
 * of `a` to those of `b` (e.g. synthetic "sessile" is real "kvasir-sessile"); unmatched ones are left out.
 */
export function transferCorrelation(a: CrossMatrix, b: CrossMatrix, map: Record<string, string> = {}): { rho: number; cells: { train: string; test: string; a: number; b: number }[] } {
  const name = (d: string): string => map[d] ?? d;
  const cells: { train: string; test: string; a: number; b: number }[] = [];
  a.train.forEach((tr, i) => {
    const bi = b.train.indexOf(name(tr));
    if (bi < 0) return;
    a.test.forEach((te, j) => {
      const bj = b.test.indexOf(name(te));
      if (bj < 0 || name(te) === name(tr)) return;
      const va = a.ap[i][j];
      const vb = b.ap[bi][bj];
      if (va === null || vb === null) return;
      cells.push({ train: name(tr), test: name(te), a: va, b: vb });
    });
  });
  if (cells.length < 2) throw new ExperimentError(`the two matrices share ${cells.length} off-diagonal cell(s); map the domain names with --map`);
  return { rho: spearman(cells.map((c) => c.a), cells.map((c) => c.b)), cells };
}
