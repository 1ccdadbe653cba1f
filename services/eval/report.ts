/**
 * The forgetting audit report of a run directory (layout in docs/metrics.md): Markdown and a
 * self-contained HTML page, R as JSON and CSV, the metrics, and SVG + PNG figures.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import sharp from "sharp";
import { ErrorCode } from "../errors/index.js";
import { writeFileAtomic } from "../store/index.js";
import { EvalInputError, ReportError } from "./errors.js";
import { accuracyMatrixCsv, continualMetrics, parseAccuracyMatrix, parseBaseAp } from "./metrics.js";
import { escapeXml, heatmapSvg, lineChartSvg } from "./svg.js";
import { type AccuracyMatrix, type ClMetrics, type CrossMatrix, type ParadigmTable } from "./types.js";

/** A table cell; `full` is the unabridged value (a whole version id) shown on hover in HTML. */
type Cell = string | number | null | { text: string; full: string; mono?: boolean };
type Block =
  | { kind: "text"; text: string }
  | { kind: "table"; header: string[]; rows: Cell[][] }
  | { kind: "figure"; file: string; svg: string; caption: string }
  /** Figures shown side by side (HTML) for a direct comparison. */
  | { kind: "figures"; items: { file: string; svg: string; caption: string }[] };
interface Section {
  title: string;
  blocks: Block[];
}

/** The run's summary: what a reader needs first, every value short enough to read at a glance. */
interface Summary {
  fields: [string, Cell][];
  hyperparameters: [string, string][];
  sections: Section[];
}

async function readOptionalText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

async function readOptionalJson(path: string): Promise<unknown | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ReportError(ErrorCode.Unavailable, `cannot read ${path}: ${(err as Error).message}`, { details: { file: path }, cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new EvalInputError(`${path} is not valid JSON: ${(err as Error).message}`, { details: { file: path }, cause: err });
  }
}

function isEntryRow(v: unknown, n: number): v is (number | null)[] {
  return Array.isArray(v) && v.length === n && v.every((x) => x === null || (typeof x === "number" && Number.isFinite(x)));
}

/** `{train: string[], test: string[], ap: number[][]}` (rows = train, columns = test). */
export function parseCrossMatrix(json: unknown, source: string): CrossMatrix {
  const o = json as Partial<CrossMatrix> | null;
  const strs = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === "string");
  if (!o || typeof o !== "object" || !strs(o.train) || !strs(o.test) || !Array.isArray(o.ap)) {
    throw new EvalInputError(`${source}: expected {"train": [...], "test": [...], "ap": [[...]]}`, { details: { file: source } });
  }
  const train = o.train as string[];
  const test = o.test as string[];
  if (o.ap.length !== train.length) throw new EvalInputError(`${source}: "ap" needs one row per train entry (${train.length})`, { details: { file: source, field: "ap" } });
  o.ap.forEach((row, i) => {
    if (!isEntryRow(row, test.length)) {
      throw new EvalInputError(`${source}: ap[${i}] (train "${train[i]}") needs ${test.length} numbers or nulls`, { details: { file: source, field: `ap[${i}]` } });
    }
  });
  return { train: [...train], test: [...test], ap: o.ap.map((r) => [...r]) };
}

/** `{domains, rows: [{paradigm, ap, avg, bwt}]}` (paper Tables 3/4). */
export function parseParadigmTable(json: unknown, source: string): ParadigmTable {
  const o = json as Partial<ParadigmTable> | null;
  if (!o || typeof o !== "object" || !Array.isArray(o.domains) || !Array.isArray(o.rows)) {
    throw new EvalInputError(`${source}: expected {"domains": [...], "rows": [{"paradigm", "ap", "avg", "bwt"}]}`, { details: { file: source } });
  }
  const n = o.domains.length;
  o.rows.forEach((r, i) => {
    const num = (v: unknown) => v === null || v === undefined || (typeof v === "number" && Number.isFinite(v));
    if (!r || typeof r.paradigm !== "string" || !isEntryRow(r.ap, n) || !num(r.avg) || !num(r.bwt)) {
      throw new EvalInputError(`${source}: rows[${i}] needs {paradigm: string, ap: ${n} numbers or nulls, avg, bwt}`, { details: { file: source, field: `rows[${i}]` } });
    }
  });
  return {
    domains: [...o.domains],
    rows: o.rows.map((r) => ({ paradigm: r.paradigm, ap: [...r.ap], avg: r.avg ?? null, bwt: r.bwt ?? null })),
  };
}

const fmt = (v: number | null | undefined, d = 1): string => (v === null || v === undefined ? "–" : v.toFixed(d));
const meanOf = (xs: (number | null)[]): number | null => {
  const p = xs.filter((x): x is number => x !== null);
  return p.length ? p.reduce((a, b) => a + b, 0) / p.length : null;
};

function rMatrixSections(R: AccuracyMatrix, m: ClMetrics, tag: string, label: string): Section[] {
  const T = R.steps.length;
  const suffix = tag ? `-${tag}` : "";
  const domainHead = R.domains.map((d, j) => (j >= T ? `${d} (test-only)` : d));
  const sections: Section[] = [];
  sections.push({
    title: `Accuracy matrix R${label} (AP %)`,
    blocks: [
      { kind: "text", text: `Row i is the model after step i (trained on domain i); column j is the AP on domain j's test set.` },
      { kind: "table", header: ["step", ...domainHead, "avg (trained)"], rows: R.ap.map((row, i) => [R.steps[i], ...row.map((v) => fmt(v)), fmt(m.avg_ap_per_step[i])]) },
      {
        kind: "figure",
        file: `fig-R-heatmap${suffix}`,
        caption: `R heatmap${label}: AP (%) of every step's model on every domain (cf. paper Fig. 5).`,
        svg: heatmapSvg({ title: `Accuracy matrix R${label} (AP %)`, rowLabels: R.steps, colLabels: R.domains, values: R.ap, xLabel: "evaluated on domain", yLabel: "after training step" }),
      },
    ],
  });
  sections.push({
    title: `Continual-learning metrics${label}`,
    blocks: [
      {
        kind: "table",
        header: ["ACC", "BWT", "FWT", "mean forgetting"],
        rows: [[fmt(m.acc, 2), fmt(m.bwt, 2), fmt(m.fwt, 2), fmt(m.forgetting.mean, 2)]],
      },
      { kind: "table", header: ["domain", "forgetting", "best earlier AP", "final AP"], rows: R.domains.map((d, j) => {
        const earlier = R.ap.slice(0, T - 1).map((r) => r[j]).filter((x): x is number => x !== null);
        return [d + (j >= T ? " (test-only)" : ""), fmt(m.forgetting.per_domain[d], 2), earlier.length ? fmt(Math.max(...earlier)) : "–", fmt(R.ap[T - 1][j])];
      }) },
      {
        kind: "text",
        text:
          "Missing entries: each metric is a mean of terms; a term that needs a missing entry (or a missing base AP) is dropped and the mean is over the remaining terms; with none left the metric is null (–). " +
          "FWT needs base-model APs (base.json). With one step, BWT, FWT and forgetting are undefined.",
      },
    ],
  });
  sections.push({
    title: `AP per domain over steps${label}`,
    blocks: [
      {
        kind: "figure",
        file: `fig-ap-curves${suffix}`,
        caption: `AP (%) on each domain after each step${label} (cf. paper Fig. 4); dashed lines are test-only domains.`,
        svg: lineChartSvg({
          title: `AP per domain over steps${label}`,
          xLabels: R.steps,
          series: R.domains.map((d, j) => ({ name: d, values: R.ap.map((r) => r[j]), dashed: j >= T })),
          xLabel: "training step",
          yLabel: "AP (%)",
        }),
      },
    ],
  });
  return sections;
}

/**
 * `evaluation.json` (runs that evaluate at the sites): where R's numbers came from, each cell a
 * site left empty with its reason, and for "both" how many cells were compared and which differ.
 */
function evaluationSection(json: unknown, source: string): Section {
  const bad = (msg: string): never => {
    throw new EvalInputError(`${source}: ${msg}`, { details: { file: source } });
  };
  if (!isRecord(json)) bad("expected an object");
  const o = json as Record<string, unknown>;
  const placement = typeof o.placement === "string" ? o.placement : bad('"placement" must be a string');
  const missing = Array.isArray(o.missing) ? (o.missing as unknown[]) : bad('"missing" must be an array');
  const rows: Cell[][] = missing.map((m, i) => {
    if (!isRecord(m)) return bad(`missing[${i}] must be an object`);
    const r = m as Record<string, unknown>;
    return [String(r.step), String(r.domain), String(r.site), String(r.reason)];
  });
  const blocks: Block[] = [
    {
      kind: "text",
      text:
        placement === "sites"
          ? "Every number in R was computed by the site that holds the domain's test split, on its own split; only COCO statistics and per-category AP left the site."
          : "R holds the coordinator's central numbers; the sites evaluated the same model versions on their own splits, and every cell both produced is compared bit for bit.",
    },
  ];
  blocks.push(rows.length ? { kind: "table", header: ["step", "domain", "site", "why the cell is empty"], rows } : { kind: "text", text: "Every site evaluated every model version it was asked to." });
  if (isRecord(o.agreement)) {
    const a = o.agreement as Record<string, unknown>;
    const mismatches = Array.isArray(a.mismatches) ? (a.mismatches as unknown[]).map(String) : [];
    blocks.push({ kind: "text", text: `Central vs site: ${Number(a.cellsCompared)} cells compared, ${mismatches.length} differ${mismatches.length ? `: ${mismatches.join("; ")}` : ""}.` });
  }
  return { title: `Evaluation at the sites (${placement})`, blocks };
}

function crossSection(cm: CrossMatrix, title: string, file: string, figure: string): Section {
  const avg = cm.ap.map((row) => meanOf(row));
  return {
    title,
    blocks: [
      { kind: "table", header: ["train \\ test", ...cm.test, "AVG"], rows: cm.ap.map((row, i) => [cm.train[i], ...row.map((v) => fmt(v)), fmt(avg[i])]) },
      {
        kind: "figure",
        file,
        caption: `${title}: AP (%) of the model trained on each row, tested on each column (cf. paper ${figure}); AVG in the last column.`,
        svg: heatmapSvg({
          title,
          rowLabels: cm.train,
          colLabels: [...cm.test, "AVG"],
          values: cm.ap.map((row, i) => [...row, avg[i]]),
          xLabel: "tested on",
          yLabel: "trained on",
        }),
      },
    ],
  };
}

/**
 * One row per (domain, category), one column per step with "base" first: the same orientation as a
 * transposed R, so a category's AP reads left to right as training goes on. Categories are named
 * from categories.json; without a name a category is "category <id>".
 */
function perCategorySection(json: unknown, source: string, names: Record<string, Record<string, string>>): Section {
  const data = json as Record<string, Record<string, Record<string, number>>>;
  if (!data || typeof data !== "object" || Array.isArray(data)) throw new EvalInputError(`${source}: expected {"<step>": {"<domain>": {"<categoryId>": ap}}}`, { details: { file: source } });
  const stepKey = (k: string): number => (k === "base" ? -1 : Number.isFinite(Number(k)) ? Number(k) : Number.MAX_SAFE_INTEGER);
  const steps = Object.keys(data).sort((a, b) => stepKey(a) - stepKey(b) || a.localeCompare(b));
  const rowKeys: [string, string][] = [];
  for (const step of steps) {
    for (const [domain, byCat] of Object.entries(data[step] ?? {})) {
      for (const id of Object.keys(byCat ?? {}).sort((a, b) => Number(a) - Number(b))) {
        if (!rowKeys.some(([d, c]) => d === domain && c === id)) rowKeys.push([domain, id]);
      }
    }
  }
  const rows: Cell[][] = rowKeys.map(([domain, id]) => [
    domain,
    names[domain]?.[id] ?? `category ${id}`,
    ...steps.map((step) => {
      const v = data[step]?.[domain]?.[id];
      return typeof v === "number" ? fmt(v) : "–";
    }),
  ]);
  return {
    title: "Per-category AP (%)",
    blocks: [
      { kind: "text", text: "AP of each category on each domain's test set, before training (base) and after each step." },
      { kind: "table", header: ["domain", "category", ...steps.map((k) => (k === "base" ? "base" : `step ${k}`))], rows },
    ],
  };
}

function parseCategoryNames(json: unknown, source: string): Record<string, Record<string, string>> {
  const ok = json && typeof json === "object" && !Array.isArray(json) && Object.values(json).every((m) => m && typeof m === "object" && !Array.isArray(m) && Object.values(m).every((n) => typeof n === "string"));
  if (!ok) throw new EvalInputError(`${source}: expected {"<domain>": {"<categoryId>": "name"}}`, { details: { file: source } });
  return json as Record<string, Record<string, string>>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (v === null || v === undefined ? "–" : typeof v === "string" ? v : JSON.stringify(v));

/** A content address cut to its first 12 hex digits (a uuid to its first 8), the whole id kept for hover. */
function shortId(v: unknown): Cell {
  if (typeof v !== "string" || v === "") return "–";
  if (/^[0-9a-f]{32,}$/i.test(v)) return { text: v.slice(0, 12), full: v, mono: true };
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-/i.test(v)) return { text: v.slice(0, 8), full: v, mono: true };
  return v;
}

/** Anything else in run.json, cut to `max` characters so no value fills the page. */
function shortValue(v: unknown, max = 80): Cell {
  const text = str(v);
  return text.length > max ? { text: `${text.slice(0, max - 1)}…`, full: text } : text;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "–";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

const TERMINAL_STATES = ["completed", "failed", "cancelled"];

/** Reads run.json's known fields into a summary, steps, lineage and rejected updates; other keys become short fields. */
export function runSummary(meta: Record<string, unknown>): Summary {
  const fields: [string, Cell][] = [];
  const known = new Set(["name", "strategy", "state", "seed", "model", "sites", "options", "hyperparameters", "created_at", "updated_at", "run_id", "base_version", "current_version", "steps", "lineage", "rejected_updates", "replay", "error"]);
  const put = (label: string, v: Cell) => fields.push([label, v]);
  if ("name" in meta) put("name", str(meta.name));
  if ("strategy" in meta) put("strategy", str(meta.strategy));
  if ("state" in meta) put("state", str(meta.state));
  if ("seed" in meta) put("seed", str(meta.seed));
  if ("model" in meta) put("model", str(meta.model));
  if (Array.isArray(meta.sites)) put(`sites (${meta.sites.length})`, meta.sites.map(str).join(", ") || "–");
  if (isRecord(meta.options)) {
    const opts = Object.entries(meta.options).map(([k, v]) => `${k}=${str(v)}`);
    put("options", opts.length ? opts.join(", ") : "none");
  }
  const created = typeof meta.created_at === "string" ? Date.parse(meta.created_at) : NaN;
  const updated = typeof meta.updated_at === "string" ? Date.parse(meta.updated_at) : NaN;
  if (Number.isFinite(created) && Number.isFinite(updated)) {
    const running = typeof meta.state === "string" && !TERMINAL_STATES.includes(meta.state);
    put("duration", `${formatDuration(updated - created)}${running ? " so far" : ""}`);
  }
  if ("created_at" in meta) put("started", str(meta.created_at));
  if ("run_id" in meta) put("run id", str(meta.run_id));
  if ("base_version" in meta) put("base version", shortId(meta.base_version));
  if ("current_version" in meta) put("final version", shortId(meta.current_version));
  if (meta.error !== null && meta.error !== undefined && meta.error !== "") put("error", shortValue(meta.error, 300));
  const replay = replayOf(meta.replay);
  if (replay) put("replay", replay.requested === 0 ? "none asked for" : `${replay.received} exemplar(s) received of ${replay.requested} asked for`);
  for (const [k, v] of Object.entries(meta)) if (!known.has(k)) put(k.replace(/_/g, " "), shortValue(v));

  const hyperparameters: [string, string][] = isRecord(meta.hyperparameters) ? Object.entries(meta.hyperparameters).map(([k, v]) => [k, str(v)]) : [];

  const sections: Section[] = [];
  if (Array.isArray(meta.steps) && meta.steps.length > 0) {
    const rows = meta.steps.filter(isRecord).map((st): Cell[] => [
      str(st.index),
      str(st.domain),
      Array.isArray(st.sites) ? st.sites.map(str).join(", ") : str(st.sites),
      str(st.state),
      shortId(st.version),
      Array.isArray(st.dropouts) && st.dropouts.length ? st.dropouts.map(str).join(", ") : "none",
    ]);
    sections.push({ title: "Steps", blocks: [{ kind: "table", header: ["step", "domain", "sites", "state", "version", "dropouts"], rows }] });
  }
  if (Array.isArray(meta.lineage) && meta.lineage.length > 0) {
    const rows = meta.lineage.filter(isRecord).map((v): Cell[] => [
      shortId(v.version),
      v.parent ? shortId(v.parent) : "–",
      typeof v.step === "number" && v.step < 0 ? "base" : str(v.step),
      str(v.strategy),
      Array.isArray(v.sites) && v.sites.length ? v.sites.map(str).join(", ") : "–",
    ]);
    sections.push({
      title: "Model lineage",
      blocks: [
        { kind: "text", text: "Each version is the sha256 of its checkpoint, shown by its first 12 characters (the whole id is in run.json, and on hover in the HTML); parent is the version it was trained from." },
        { kind: "table", header: ["version", "parent", "step", "strategy", "trained at"], rows },
      ],
    });
  }
  if (Array.isArray(meta.rejected_updates)) {
    const rows = meta.rejected_updates.filter(isRecord).map((u): Cell[] => [str(u.site_id), shortId(u.task_id), shortValue(u.reason, 300)]);
    sections.push({
      title: "Rejected updates",
      blocks: rows.length ? [{ kind: "table", header: ["site", "task", "reason"], rows }] : [{ kind: "text", text: "None: every update passed validation." }],
    });
  }
  if (replay && Object.keys(replay.perStep).length > 0) {
    const rows = Object.entries(replay.perStep)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([step, n]): Cell[] => [step, String(n)]);
    sections.push({
      title: "Replay buffer",
      blocks: [
        { kind: "text", text: "Exemplars that reached the coordinator's replay buffer, per step whose tasks asked for some. A step that asked and received none trained without replay: its sites hold no shareable records, or the privacy filter refused them all." },
        { kind: "table", header: ["step", "exemplars received"], rows },
      ],
    });
  }
  return { fields, hyperparameters, sections };
}

/** run.json's `replay` (coordinator/run-artifacts.ts ReplaySummary), or undefined when absent or malformed. */
function replayOf(v: unknown): { requested: number; received: number; perStep: Record<string, number> } | undefined {
  if (!isRecord(v) || typeof v.requested !== "number" || typeof v.received !== "number") return undefined;
  const perStep = isRecord(v.received_per_step) ? Object.fromEntries(Object.entries(v.received_per_step).filter((e): e is [string, number] => typeof e[1] === "number")) : {};
  return { requested: v.requested, received: v.received, perStep };
}

/** A continual run of the report, by its folder name. */
interface ParadigmRun {
  name: string;
  R: AccuracyMatrix;
  m: ClMetrics;
}

const signed = (v: number | null, d = 1): string => (v === null ? "–" : `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(d)}`);

/**
 * When a report holds a sequential run and rehearsal runs on the same steps, what the report is
 * for: how much fine-tuning site after site forgot, and how much replay kept. Returns the headline
 * (one sentence for the report's header) and the side-by-side section; undefined without the pair.
 */
export function forgettingComparison(runs: ParadigmRun[]): { headline: string; section: Section } | undefined {
  const seq = runs.find((r) => r.name === "sequential");
  const cures = runs.filter((r) => r.name.startsWith("rehearsal") && seq && r.R.steps.join() === seq.R.steps.join() && r.R.steps.length > 1);
  if (!seq || cures.length === 0 || seq.m.acc === null) return undefined;
  const cure = cures[0];
  const dAcc = cure.m.acc === null ? null : cure.m.acc - seq.m.acc;
  const dBwt = cure.m.bwt === null || seq.m.bwt === null ? null : cure.m.bwt - seq.m.bwt;
  const headline =
    `Fine-tuned site after site (sequential), the model ends at ACC ${fmt(seq.m.acc)} with BWT ${signed(seq.m.bwt)}: it forgot the earlier sites. ` +
    `Replaying a small buffer of their exemplars (${cure.name}) ends at ACC ${fmt(cure.m.acc)}, BWT ${signed(cure.m.bwt)}: ${signed(dAcc)} ACC and ${signed(dBwt)} BWT. ` +
    "What to see: in the sequential heatmap the cells left of the diagonal fade row after row; with rehearsal they stay.";
  const T = seq.R.steps.length;
  const trained = seq.R.domains.slice(0, T);
  const all = [seq, ...cures];
  return {
    headline,
    section: {
      title: `Forgetting and its cure: sequential against ${cures.map((c) => c.name).join(", ")}`,
      blocks: [
        { kind: "text", text: headline },
        {
          kind: "table",
          header: ["paradigm", "ACC", "BWT", "mean forgetting", "Δ ACC vs sequential", "Δ BWT vs sequential"],
          rows: all.map((r) => [
            r.name,
            fmt(r.m.acc, 2),
            fmt(r.m.bwt, 2),
            fmt(r.m.forgetting.mean, 2),
            r === seq ? "–" : signed(r.m.acc === null ? null : r.m.acc - seq.m.acc!, 2),
            r === seq || r.m.bwt === null || seq.m.bwt === null ? "–" : signed(r.m.bwt - seq.m.bwt, 2),
          ]),
        },
        {
          kind: "table",
          header: ["domain", ...all.map((r) => `forgetting (${r.name})`), ...all.map((r) => `final AP (${r.name})`)],
          rows: trained.map((d) => [d, ...all.map((r) => fmt(r.m.forgetting.per_domain[d], 1)), ...all.map((r) => fmt(r.R.ap[T - 1][r.R.domains.indexOf(d)]))]),
        },
        {
          kind: "figures",
          items: all.map((r) => ({
            file: `fig-R-heatmap-${r.name}`,
            caption: `R — ${r.name}`,
            svg: heatmapSvg({ title: `Accuracy matrix R — ${r.name} (AP %)`, rowLabels: r.R.steps, colLabels: r.R.domains, values: r.R.ap, xLabel: "evaluated on domain", yLabel: "after training step" }),
          })),
        },
      ],
    },
  };
}

function cellText(c: Cell): string {
  return c === null ? "–" : typeof c === "object" ? c.text : String(c);
}

const mdCell = (c: Cell): string => cellText(c).replace(/\|/g, "\\|").replace(/\n/g, " ");

function toMarkdown(title: string, summary: Summary | undefined, sections: Section[], headline?: string): string {
  const out: string[] = [`# ${title}`, ""];
  if (headline) out.push(`> ${headline}`, "");
  if (summary && summary.fields.length) {
    out.push("## Summary", "", "| | |", "|---|---|", ...summary.fields.map(([k, v]) => `| **${k}** | ${mdCell(v)} |`), "");
  }
  if (summary && summary.hyperparameters.length) {
    out.push("### Hyperparameters", "", "| hyperparameter | value |", "|---|---|", ...summary.hyperparameters.map(([k, v]) => `| ${k} | ${mdCell(v)} |`), "");
  }
  for (const s of sections) {
    out.push(`## ${s.title}`, "");
    for (const b of s.blocks) {
      if (b.kind === "text") out.push(b.text, "");
      else if (b.kind === "figure") out.push(`![${b.caption}](${b.file}.png)`, "", `*${b.caption}* ([SVG](${b.file}.svg))`, "");
      else if (b.kind === "figures") out.push(b.items.map((f) => `![${f.caption}](${f.file}.png)`).join(" "), "", b.items.map((f) => `*${f.caption}* ([SVG](${f.file}.svg))`).join(" · "), "");
      else {
        out.push(`| ${b.header.join(" | ")} |`, `|${b.header.map(() => "---").join("|")}|`);
        for (const r of b.rows) out.push(`| ${r.map(mdCell).join(" | ")} |`);
        out.push("");
      }
    }
  }
  return out.join("\n");
}

function htmlCell(c: Cell, tag: "td" | "th" = "td"): string {
  if (c !== null && typeof c === "object") {
    const inner = c.mono ? `<code>${escapeXml(c.text)}</code>` : escapeXml(c.text);
    return `<${tag} class="t" title="${escapeXml(c.full)}">${inner}</${tag}>`;
  }
  const text = cellText(c);
  // Numbers line up on the right; words read from the left.
  return /^(-?[\d.]+(e[+-]?\d+)?|–)$/i.test(text) ? `<${tag}>${escapeXml(text)}</${tag}>` : `<${tag} class="t">${escapeXml(text)}</${tag}>`;
}

// Long values wrap (overflow-wrap) and wide tables scroll inside their own box, so the page itself
// never scrolls sideways; figures shrink to the column (they carry a viewBox).
const STYLE =
  "body{font-family:DejaVu Sans,Arial,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}" +
  "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}" +
  "th{background:#f2f2f2}td:first-child,th:first-child,td.t{text-align:left}figure{margin:1em 0}figcaption{font-size:90%;color:#555}" +
  "svg{max-width:100%;height:auto}.wide{max-width:100%;overflow-x:auto}code{font-size:92%}" +
  ".summary{display:flex;flex-wrap:wrap;gap:0 2.5em;align-items:flex-start}.summary table{max-width:100%}" +
  ".fields th{text-align:left;white-space:nowrap}.fields td{text-align:left;max-width:700px;overflow-wrap:anywhere}" +
  ".headline{font-size:110%;background:#f6f6f0;border-left:4px solid #b33;padding:.6em 1em}" +
  ".side{display:flex;flex-wrap:wrap;gap:1em}.side figure{flex:1 1 420px;min-width:0}";

function toHtml(title: string, summary: Summary | undefined, sections: Section[], headline?: string): string {
  const out: string[] = [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeXml(title)}</title>`,
    `<style>${STYLE}</style>`,
    "</head><body>",
    `<h1>${escapeXml(title)}</h1>`,
    ...(headline ? [`<p class="headline" id="headline">${escapeXml(headline)}</p>`] : []),
  ];
  if (summary && (summary.fields.length || summary.hyperparameters.length)) {
    out.push('<section class="summary" id="summary">');
    if (summary.fields.length) out.push(`<table class="fields">${summary.fields.map(([k, v]) => `<tr><th>${escapeXml(k)}</th>${htmlCell(v)}</tr>`).join("")}</table>`);
    if (summary.hyperparameters.length) {
      out.push(`<table class="fields hyper"><tr><th>hyperparameter</th><th>value</th></tr>${summary.hyperparameters.map(([k, v]) => `<tr><td>${escapeXml(k)}</td><td>${escapeXml(v)}</td></tr>`).join("")}</table>`);
    }
    out.push("</section>");
  }
  for (const s of sections) {
    out.push(`<h2>${escapeXml(s.title)}</h2>`);
    for (const b of s.blocks) {
      if (b.kind === "text") out.push(`<p>${escapeXml(b.text)}</p>`);
      else if (b.kind === "figure") out.push(`<figure>${b.svg}<figcaption>${escapeXml(b.caption)}</figcaption></figure>`);
      else if (b.kind === "figures") out.push(`<div class="side">${b.items.map((f) => `<figure>${f.svg}<figcaption>${escapeXml(f.caption)}</figcaption></figure>`).join("")}</div>`);
      else {
        out.push(
          `<div class="wide"><table><tr>${b.header.map((h) => `<th>${escapeXml(h)}</th>`).join("")}</tr>` +
            b.rows.map((r) => `<tr>${r.map((c) => htmlCell(c)).join("")}</tr>`).join("") +
            "</table></div>",
        );
      }
    }
  }
  out.push("</body></html>");
  return out.join("\n");
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Writes the audit report of `runDir` into `outDir` (default `<runDir>/report`) and returns the
 * absolute paths written. Reads, all optional but at least one needed: `R.json` (+ `base.json`,
 * `run.json`, `per_category.json`), paradigm subfolders `<name>/R.json` and/or `paradigms.json`,
 * and cross matrices `cross-domain/matrix.json`, `cross-task/matrix.json` or `matrix.json`.
 */
export async function writeAuditReport(runDir: string, outDir?: string): Promise<{ files: string[] }> {
  const dir = resolve(runDir);
  if (!(await isDir(dir))) throw new ReportError(ErrorCode.NotFound, `run directory ${dir} does not exist`, { details: { file: dir } });
  const out = resolve(outDir ?? join(dir, "report"));
  const files: string[] = [];
  const write = async (name: string, data: string | Uint8Array) => {
    const p = join(out, name);
    await writeFileAtomic(p, data);
    files.push(p);
  };
  const sections: Section[] = [];

  const runMeta = await readOptionalJson(join(dir, "run.json"));
  if (runMeta !== undefined && !isRecord(runMeta)) throw new EvalInputError(`${join(dir, "run.json")}: expected an object`, { details: { file: join(dir, "run.json") } });
  const summary = runMeta === undefined ? undefined : runSummary(runMeta);
  const categoriesJson = await readOptionalJson(join(dir, "categories.json"));
  const categoryNames = categoriesJson === undefined ? {} : parseCategoryNames(categoriesJson, join(dir, "categories.json"));
  const baseJson = await readOptionalJson(join(dir, "base.json"));
  const base = baseJson === undefined ? undefined : parseBaseAp(baseJson, join(dir, "base.json"));

  const rJson = await readOptionalJson(join(dir, "R.json"));
  if (rJson !== undefined) {
    const R = parseAccuracyMatrix(rJson, join(dir, "R.json"));
    const m = continualMetrics(R, base);
    await write("R.json", `${JSON.stringify(R, null, 2)}\n`);
    await write("R.csv", accuracyMatrixCsv(R));
    await write("metrics.json", `${JSON.stringify(m, null, 2)}\n`);
    sections.push(...rMatrixSections(R, m, "", ""));
    const perCat = await readOptionalJson(join(dir, "per_category.json"));
    if (perCat !== undefined) sections.push(perCategorySection(perCat, join(dir, "per_category.json"), categoryNames));
    const evaluation = await readOptionalJson(join(dir, "evaluation.json"));
    if (evaluation !== undefined) {
      sections.push(evaluationSection(evaluation, join(dir, "evaluation.json")));
      await write("evaluation.json", `${JSON.stringify(evaluation, null, 2)}\n`);
    }
  }
  if (summary) sections.push(...summary.sections);

  // Paradigm subfolders: any direct subfolder (not the output) holding an R.json.
  const paradigmRs: { name: string; R: AccuracyMatrix; m: ClMetrics }[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const sub = join(dir, name);
    // Skip the output and any earlier report folder (it holds an R.json copy too).
    if (sub === out || !(await isDir(sub)) || (await readOptionalText(join(sub, "report.md"))) !== undefined) continue;
    const j = await readOptionalJson(join(sub, "R.json"));
    if (j === undefined) continue;
    const R = parseAccuracyMatrix(j, join(sub, "R.json"));
    const subBase = await readOptionalJson(join(sub, "base.json"));
    const m = continualMetrics(R, subBase === undefined ? base : parseBaseAp(subBase, join(sub, "base.json")));
    paradigmRs.push({ name, R, m });
    await write(join("paradigms", name, "R.json"), `${JSON.stringify(R, null, 2)}\n`);
    await write(join("paradigms", name, "R.csv"), accuracyMatrixCsv(R));
    await write(join("paradigms", name, "metrics.json"), `${JSON.stringify(m, null, 2)}\n`);
  }
  const tableJson = await readOptionalJson(join(dir, "paradigms.json"));
  let table: ParadigmTable | undefined = tableJson === undefined ? undefined : parseParadigmTable(tableJson, join(dir, "paradigms.json"));
  if (paradigmRs.length > 0) {
    const domains = table?.domains ?? paradigmRs[0].R.domains.slice(0, paradigmRs[0].R.steps.length);
    const rows = table?.rows ?? [];
    for (const p of paradigmRs) {
      if (rows.some((r) => r.paradigm === p.name)) continue;
      const lastRow = p.R.ap[p.R.steps.length - 1];
      rows.push({ paradigm: p.name, ap: domains.map((d) => { const j = p.R.domains.indexOf(d); return j < 0 ? null : lastRow[j]; }), avg: p.m.acc, bwt: p.m.bwt });
    }
    table = { domains, rows };
  }
  if (table && table.rows.length > 0) {
    await write("paradigms.json", `${JSON.stringify(table, null, 2)}\n`);
    sections.push({
      title: "Paradigm comparison (AP %)",
      blocks: [
        { kind: "text", text: "Final AP on each domain per paradigm, with the average and BWT (cf. paper Tables 3 and 4)." },
        { kind: "table", header: ["paradigm", ...table.domains, "avg", "BWT"], rows: table.rows.map((r) => [r.paradigm, ...r.ap.map((v) => fmt(v)), fmt(r.avg), fmt(r.bwt)]) },
      ],
    });
  }
  for (const p of paradigmRs) sections.push(...rMatrixSections(p.R, p.m, p.name, ` — ${p.name}`));
  const comparison = forgettingComparison(paradigmRs);
  if (comparison) sections.unshift(comparison.section);

  const crosses: [string, string, string, string][] = [
    ["cross-domain/matrix.json", "Cross-domain AP matrix", "fig-cross-domain", "Fig. 3a / Table 1"],
    ["cross-task/matrix.json", "Cross-task AP matrix", "fig-cross-task", "Fig. 3b / Table 2"],
    ["matrix.json", "Cross AP matrix", "fig-cross", "Fig. 3 / Tables 1–2"],
  ];
  let nCross = 0;
  for (const [rel, title, file, fig] of crosses) {
    const j = await readOptionalJson(join(dir, rel));
    if (j === undefined) continue;
    sections.push(crossSection(parseCrossMatrix(j, join(dir, rel)), title, file, fig));
    nCross++;
  }

  if (rJson === undefined && paradigmRs.length === 0 && !table && nCross === 0) {
    throw new ReportError(
      ErrorCode.NotFound,
      `${dir} holds nothing to report: expected R.json, <paradigm>/R.json, paradigms.json or a cross matrix (cross-domain/matrix.json, cross-task/matrix.json, matrix.json)`,
      { details: { file: dir } },
    );
  }

  for (const s of sections) {
    for (const b of s.blocks) {
      // The side-by-side heatmaps repeat each run's own figure under the same file name.
      const figures = b.kind === "figure" ? [b] : b.kind === "figures" ? b.items : [];
      for (const f of figures) {
        if (files.includes(join(out, `${f.file}.svg`))) continue;
        await write(`${f.file}.svg`, f.svg);
        // density 144 renders at 2x the SVG's pixel size, so text stays sharp.
        await write(`${f.file}.png`, await sharp(Buffer.from(f.svg), { density: 144 }).png().toBuffer());
      }
    }
  }
  const name = summary?.fields.find(([k]) => k === "name")?.[1];
  const title = `medfcl audit report${name ? `: ${cellText(name)}` : ""}`;
  if (runMeta !== undefined) await write("run.json", `${JSON.stringify(runMeta, null, 2)}\n`);
  await write("report.md", toMarkdown(title, summary, sections, comparison?.headline));
  await write("report.html", toHtml(title, summary, sections, comparison?.headline));
  return { files };
}
