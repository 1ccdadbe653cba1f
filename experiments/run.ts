/**
 * Runs an experiment through the real federation (`simulate`: a coordinator and one agent process
 * per site over loopback mTLS), one coordinator + agents per seed reused for every run of the
 * plan, then writes the paper's tables (JSON, CSV, Markdown) and the audit report's figures.
 *
 * Layout of `out`:
 *   experiment.json, results.md            what ran, wall times, every table, the acceptance checks
 *   paradigms.json|.csv|.md                 Tables 3/4 (mean over seeds; `paradigms-std.json` beside)
 *   cross-domain/ or cross-task/matrix.json|.csv|.md   Tables 1/2 (mean over seeds)
 *   <continual run>/R.json, base.json       mean R of sequential and rehearsal runs (Fig. 5)
 *   report/                                 writeAuditReport(out): report.md/.html, SVG + PNG figures
 *   store/<key>/                            every finished run under its configuration hash (store.ts);
 *                                           a rerun skips stored runs, so a table can be built over days
 *   seeds/seed-N/                           simulate's folder: logs, coordinator state, runs/<label>/R.json
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { simulate, type SiteDataset } from "../cli/simulate.js";
import { SYNTH_GENERATOR_VERSION, SYNTH_GENERATOR_VERSIONS, ensureSyntheticSuite, mergeDatasets, readSuiteIndex, syntheticSuiteName, trainingDomains, writeSequenceSuite, type SuiteIndex } from "../services/data/index.js";
import { ErrorCode } from "../services/errors/index.js";
import { parseAccuracyMatrix, parseBaseAp, writeAuditReport, type AccuracyMatrix, type CrossMatrix, type ParadigmTable } from "../services/eval/index.js";
import { DEFAULT_MODEL_FAMILY, modelFamily, needsBaseWeights } from "../services/model/index.js";
import { writeFileAtomicSync } from "../services/store/index.js";
import { ExperimentError } from "./errors.js";
import { ExperimentProgress, dataFingerprint, isCompleted, runConfig, runKey, storeDir, storeRun, storedSeconds, type RunConfig } from "./store.js";
import { checkOnlyLabels, experimentPlan, hasPerDomainModels, isContinual, planSessions } from "./plan.js";
import {
  acceptanceChecks,
  aggregateCells,
  aggregateParadigms,
  checksMarkdown,
  crossMatrixFromR,
  matrixCsv,
  matrixMarkdown,
  paradigmsCsv,
  paradigmsMarkdown,
  paradigmTableFor,
  type Check,
} from "./tables.js";
import { EXPERIMENT_KINDS, type ExperimentKind, type ExperimentOptions, type ExperimentSummary, type PlannedRun, type RunResult, type SeedTables } from "./types.js";

/** What an experiment runs when told nothing: the registry's default model with its training defaults. */
export function defaultExperimentOptions(): Omit<ExperimentOptions, "kind" | "out" | "logger"> {
  const model = DEFAULT_MODEL_FAMILY;
  const t = modelFamily(model).training;
  return { suite: "polyp", scale: "small", seed: 1, repeat: 1, epochs: t.epochs, maxSteps: 0, lr: t.lr, batchSize: t.batchSize, model, shots: 100, buffer: 100, mix: 0.3, beyond: true, insecure: false };
}

/** Validates what commander cannot: names, ranges, and that a --data-root holds a suite.json. */
export function parseExperimentOptions(o: ExperimentOptions): ExperimentOptions {
  const bad = (option: string, msg: string): never => {
    throw new ExperimentError(`${option} ${msg}`, { code: ErrorCode.InvalidArgument, details: { option } });
  };
  if (!(EXPERIMENT_KINDS as readonly string[]).includes(o.kind)) bad("experiment", `must be one of ${EXPERIMENT_KINDS.join(", ")}, got "${o.kind}"`);
  if (!["polyp", "tasks"].includes(o.suite)) bad("--suite", `must be polyp or tasks, got "${o.suite}"`);
  if (!["tiny", "small", "full"].includes(o.scale)) bad("--scale", `must be tiny, small or full, got "${o.scale}"`);
  if (!Number.isInteger(o.repeat) || o.repeat < 1 || o.repeat > 20) bad("--repeat", `must be a whole number from 1 to 20, got ${o.repeat}`);
  if (!Number.isInteger(o.seed) || o.seed < 0) bad("--seed", `must be a whole number ≥ 0, got ${o.seed}`);
  if (o.generator !== undefined) {
    if (o.dataRoot !== undefined) bad("--generator", "picks the synthetic suite's generator; it does not apply with --data-root");
    if (!(SYNTH_GENERATOR_VERSIONS as readonly number[]).includes(o.generator)) bad("--generator", `must be one of ${SYNTH_GENERATOR_VERSIONS.join(", ")}, got ${o.generator}`);
  }
  if (!Number.isInteger(o.epochs) || o.epochs < 1) bad("--epochs", `must be a whole number ≥ 1, got ${o.epochs}`);
  if (!Number.isInteger(o.maxSteps) || o.maxSteps < 0) bad("--max-steps", `must be a whole number ≥ 0, got ${o.maxSteps}`);
  if (!Number.isInteger(o.shots) || o.shots < 1) bad("--shots", `must be a whole number ≥ 1, got ${o.shots}`);
  if (!Number.isInteger(o.buffer) || o.buffer < 1) bad("--buffer", `must be a whole number ≥ 1, got ${o.buffer}`);
  if (o.dataRoot !== undefined && !existsSync(join(resolve(o.dataRoot), "suite.json"))) {
    bad("--data-root", `${resolve(o.dataRoot)} has no suite.json; write one (see docs/data.md) or make one with \`medfcl data synth\``);
  }
  if (o.sequence !== undefined && o.dataRoot === undefined) bad("--sequence", "needs --data-root (the suite whose domains it orders)");
  if (o.sequence !== undefined && o.sequence.length < 1) bad("--sequence", "names no domain");
  return o;
}

/**
 * Which of the paper's tables a --data-root suite fills: its suite.json's own name when that is
 * polyp or tasks (what `data real-suite` writes), else none. Without it a tasks suite run with
 * the default --suite would be tabled as Table 3 beside the paper's polyp numbers.
 */
export function suiteOfDataRoot(dataRoot: string): "polyp" | "tasks" | undefined {
  const dir = resolve(dataRoot);
  // parseExperimentOptions names a missing suite.json; nothing to decide here.
  if (!existsSync(join(dir, "suite.json"))) return undefined;
  const name = readSuiteIndex(dir).suite;
  return name === "polyp" || name === "tasks" ? name : undefined;
}

/** Where the matrix of an experiment goes: polyp domains are Table 1, tasks Table 2. */
export function matrixFolder(kind: ExperimentKind, suite: "polyp" | "tasks"): "cross-domain" | "cross-task" {
  if (kind === "cross-domain") return "cross-domain";
  if (kind === "cross-task") return "cross-task";
  return suite === "polyp" ? "cross-domain" : "cross-task";
}

const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ExperimentError(`cannot read ${path}: ${(err as Error).message}; rerun the experiment (finished runs are kept)`, { code: ErrorCode.DataLoss, details: { file: path }, cause: err });
  }
}

function readRunResult(label: string, dir: string): RunResult {
  const R = parseAccuracyMatrix(readJson(join(dir, "R.json")), join(dir, "R.json"));
  const base = existsSync(join(dir, "base.json")) ? parseBaseAp(readJson(join(dir, "base.json")), join(dir, "base.json")) : {};
  const timing = existsSync(join(dir, "timing.json")) ? (readJson(join(dir, "timing.json")) as { seconds?: number }) : {};
  const meta = existsSync(join(dir, "run.json")) ? (readJson(join(dir, "run.json")) as { replay?: { requested?: unknown; received?: unknown } }) : {};
  const { requested, received } = meta.replay ?? {};
  const replay = typeof requested === "number" && typeof received === "number" ? { requested, received } : undefined;
  return { label, R, base, seconds: timing.seconds ?? 0, ...(replay ? { replay } : {}) };
}

/** Runs that asked their sites for exemplars and received none: rehearsal that trained like sequential. */
export function emptyReplayRuns(perSeed: SeedTables[]): string[] {
  return perSeed.flatMap((s) => s.runs.filter((r) => r.replay && r.replay.requested > 0 && r.replay.received === 0).map((r) => `${r.label} (seed ${s.seed})`));
}

async function ensureData(o: ExperimentOptions, seed: number): Promise<{ dir: string; index: SuiteIndex }> {
  if (o.dataRoot) {
    const dir = resolve(o.dataRoot);
    return { dir, index: readSuiteIndex(dir) };
  }
  const synth = { suite: o.suite, seed, scale: o.scale, generator: o.generator };
  const dir = join(resolve(o.out), ".data", syntheticSuiteName(synth));
  const index = await ensureSyntheticSuite({ ...synth, out: dir }, (generator) => o.logger.info({ dir, ...synth, generator }, "synthesizing the data suite"));
  return { dir, index };
}

/**
 * The pooled training set of a centralised run: every training domain's train split in one COCO
 * folder (with `shots`, that many seeded random images per domain), beside the experiment's data.
 */
async function pooledSite(o: ExperimentOptions, seed: number, dir: string, index: SuiteIndex, p: PlannedRun): Promise<SiteDataset> {
  const train = trainingDomains(index);
  const shots = p.pooled?.shots;
  const pool = join(resolve(o.out), ".data", `pooled-seed${seed}${shots ? `-${shots}shots` : ""}`);
  const merged = await mergeDatasets(
    train.map((d) => ({ name: d.name, dir: join(dir, d.splits.train!), ...(shots ? { limit: shots } : {}) })),
    pool,
    { seed },
  );
  o.logger.info({ seed, pool, images: merged.images, perDomain: merged.perPart }, merged.written ? "pooled the training domains for a centralised run" : "reusing the pooled training data");
  const tasks = [...new Set(train.map((d) => d.task))];
  return { name: "pooled", task: tasks.length === 1 ? tasks[0] : "mixed", train: pool };
}

/**
 * Runs (or resumes) every planned run of one seed: each session on one coordinator + agents
 * (see planSessions). A run whose configuration key is in the store is not run again.
 */
async function runSeed(o: ExperimentOptions, plan: PlannedRun[], seed: number, progress: ExperimentProgress): Promise<{ results: RunResult[]; seconds: number }> {
  const started = Date.now();
  const seedDir = join(resolve(o.out), "seeds", `seed-${seed}`);
  const sessions = planSessions(plan);
  const keyed = await keyedRuns(o, plan, seed);
  const pendingLabels = (): string[] => plan.filter((p) => !isCompleted(storeDir(o.out, keyed.get(p.label)!.key))).map((p) => p.label);
  for (const [k, session] of sessions.entries()) {
    const pending = session.runs.filter((p) => !isCompleted(storeDir(o.out, keyed.get(p.label)!.key)));
    if (pending.length < session.runs.length) o.logger.info({ seed, session: k + 1, done: session.runs.length - pending.length, pending: pending.map((p) => p.label) }, "resuming: stored runs are kept");
    if (pending.length === 0) continue;
    const { dir, index } = await ensureData(o, seed);
    const pooled = session.runs[0].pooled ? [await pooledSite(o, seed, dir, index, session.runs[0])] : undefined;
    const sites = pooled ? pooled.length : trainingDomains(index).length;
    await simulate({
      suite: o.suite,
      sites,
      strategy: pending[0].strategy,
      compare: [],
      runs: pending.map((p) => ({ label: p.label, strategy: p.strategy, options: p.options })),
      buffer: o.buffer,
      sampler: "random",
      mix: o.mix,
      seed,
      scale: o.scale,
      out: join(seedDir, session.dir),
      dataRoot: dir,
      epochs: o.epochs,
      lr: o.lr,
      batchSize: o.batchSize,
      maxSteps: o.maxSteps,
      model: o.model,
      baseWeights: o.baseWeights,
      inputSize: o.inputSize,
      insecure: o.insecure,
      logger: o.logger.child({ seed }),
      report: false,
      ...(pooled ? { siteData: pooled } : {}),
      onRunCompleted: (r) => {
        const { key, config } = keyed.get(r.label!)!;
        storeRun(o.out, key, config, r.dir, r.seconds);
        progress.finished(r.label!, r.seconds);
        const eta = progress.eta(pendingLabels());
        o.logger.info(
          { seed, run: r.label, seconds: Math.round(r.seconds), done: progress.done, of: progress.total, elapsed: fmtSeconds(progress.elapsedSeconds()), eta: eta === null ? "unknown" : fmtSeconds(eta), key },
          `run ${progress.done}/${progress.total} stored`,
        );
      },
    });
  }
  const results = plan.map((p) => readRunResult(p.label, storeDir(o.out, keyed.get(p.label)!.key)));
  return { results, seconds: (Date.now() - started) / 1000 };
}

/** Every planned run of a seed with its configuration and key in the store. */
async function keyedRuns(o: ExperimentOptions, plan: PlannedRun[], seed: number): Promise<Map<string, { key: string; config: RunConfig }>> {
  const index = o.dataRoot ? readSuiteIndex(resolve(o.dataRoot)) : undefined;
  const data = dataFingerprint(o, seed, index);
  return new Map(
    plan.map((p) => {
      const config = runConfig(o, seed, p, data);
      return [p.label, { key: runKey(config), config }];
    }),
  );
}

function meanR(rs: AccuracyMatrix[]): AccuracyMatrix {
  const { mean } = aggregateCells(rs.map((r) => r.ap));
  return { steps: [...rs[0].steps], domains: [...rs[0].domains], ap: mean };
}

function meanBase(bases: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(bases[0] ?? {})) {
    const xs = bases.map((b) => b[k]).filter((v): v is number => typeof v === "number");
    if (xs.length) out[k] = xs.reduce((a, b) => a + b, 0) / xs.length;
  }
  return out;
}

const fmtSeconds = (s: number): string => `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;

/**
 * With --sequence, the experiment runs on a view of the suite (services/data/sequence.ts) written
 * under `out/.data/sequence/`: the named domains train in that order, the rest are test-only.
 */
function withSequence(o: ExperimentOptions): ExperimentOptions {
  if (!o.sequence || !o.dataRoot) return o;
  const view = join(resolve(o.out), ".data", "sequence");
  writeSequenceSuite(resolve(o.dataRoot), readSuiteIndex(resolve(o.dataRoot)), o.sequence, view);
  o.logger.info({ sequence: o.sequence, suite: resolve(o.dataRoot), view }, "training sequence: the named domains in this order, the others test-only");
  return { ...o, dataRoot: view, sequenceSource: resolve(o.dataRoot) };
}

/** Runs the experiment for every seed and writes its tables, figures and results.md into `out`. */
export async function runExperiment(options: ExperimentOptions): Promise<ExperimentSummary> {
  const o = withSequence(parseExperimentOptions(options));
  const out = resolve(o.out);
  const started = Date.now();
  const seeds = Array.from({ length: o.repeat }, (_, i) => o.seed + i);
  checkOnlyLabels(o.kind, o);
  const { index } = await ensureData(o, seeds[0]);
  const plan = experimentPlan(o.kind, { ...o, trainDomains: trainingDomains(index).length });
  const perSeed: SeedTables[] = [];
  const allResults: RunResult[][] = [];
  const folder = matrixFolder(o.kind, o.suite);
  const files: string[] = [];
  const write = (rel: string, text: string): void => {
    writeFileAtomicSync(join(out, rel), text);
    files.push(join(out, rel));
  };

  const stored = await Promise.all(
    seeds.map(async (seed) => [...(await keyedRuns(o, plan, seed)).values()].map(({ key, config }) => ({ label: config.label, dir: storeDir(out, key) }))),
  );
  const done = stored.flat().filter((r) => isCompleted(r.dir));
  const progress = new ExperimentProgress(seeds.length * plan.length, done.map((r) => ({ label: r.label, seconds: storedSeconds(r.dir) })));
  o.logger.info({ experiment: o.kind, seeds, runs: progress.total, stored: done.length, store: join(out, "store") }, done.length ? `${done.length} of ${progress.total} runs are stored and will not run again` : `${progress.total} runs to make`);
  for (const seed of seeds) {
    o.logger.info({ experiment: o.kind, seed, runs: plan.map((p) => p.label) }, "seed started");
    const { results, seconds } = await runSeed(o, plan, seed, progress);
    allResults.push(results);
    const spec = results.find((r) => r.label === "specialized");
    const matrix = spec ? crossMatrixFromR(spec.R) : undefined;
    const paradigms = o.kind === "paradigms" ? paradigmTableFor(plan, results) : undefined;
    const seedDir = join("seeds", `seed-${seed}`);
    if (paradigms) write(join(seedDir, "paradigms.json"), json(paradigms));
    if (matrix) write(join(seedDir, folder, "matrix.json"), json(matrix));
    perSeed.push({ seed, seconds, paradigms, matrix, runs: results.map((r) => ({ label: r.label, seconds: r.seconds, ...(r.replay ? { replay: r.replay } : {}) })) });
    o.logger.info({ seed, seconds: Math.round(seconds) }, "seed finished");
  }

  let paradigms: ParadigmTable | undefined;
  let paradigmsStd: ParadigmTable | undefined;
  let matrix: CrossMatrix | undefined;
  let matrixStd: (number | null)[][] = [];
  const trained = allResults[0].find((r) => r.label === "specialized")?.R.steps ?? allResults[0][0].R.steps;
  if (o.kind === "paradigms") {
    const agg = aggregateParadigms(perSeed.map((s) => s.paradigms!));
    paradigms = agg.mean;
    paradigmsStd = agg.std;
    write("paradigms.json", json(paradigms));
    write("paradigms-std.json", json(paradigmsStd));
    write("paradigms.csv", paradigmsCsv(paradigms, paradigmsStd));
    write("paradigms.md", paradigmsMarkdown(paradigms, paradigmsStd, trained, o.suite));
    // Fig. 5: the mean R of each continual run, in a folder the audit report renders as a heatmap.
    for (const p of plan.filter((x) => isContinual(x.strategy))) {
      const rs = allResults.map((res) => res.find((r) => r.label === p.label)!);
      write(join(p.label, "R.json"), json(meanR(rs.map((r) => r.R))));
      write(join(p.label, "base.json"), json(meanBase(rs.map((r) => r.base))));
    }
  }
  /** Mean ± std over seeds of one specialized run's cross matrix, written as `<dir>/matrix.*`. */
  const writeMatrix = (dir: string, perSeedMatrices: CrossMatrix[]): { mean: CrossMatrix; std: (number | null)[][] } => {
    const first = perSeedMatrices[0];
    const agg = aggregateCells(perSeedMatrices.map((m) => m.ap));
    const mean = { train: [...first.train], test: [...first.test], ap: agg.mean };
    write(join(dir, "matrix.json"), json(mean));
    write(join(dir, "matrix-std.json"), json({ train: first.train, test: first.test, std: agg.std }));
    write(join(dir, "matrix.csv"), matrixCsv(mean, agg.std));
    write(join(dir, "matrix.md"), matrixMarkdown(mean, agg.std));
    return { mean, std: agg.std };
  };
  if (perSeed.every((s) => s.matrix)) {
    ({ mean: matrix, std: matrixStd } = writeMatrix(folder, perSeed.map((s) => s.matrix!)));
  }
  // Specialized runs beyond the paper (e.g. with sequential's training budget) get their own matrix.
  const extraMatrices: ExtraMatrix[] = plan
    .filter((p) => hasPerDomainModels(p.strategy) && p.label !== "specialized")
    .map((p) => {
      const { mean, std } = writeMatrix(p.label, allResults.map((res) => crossMatrixFromR(res.find((r) => r.label === p.label)!.R)));
      return { label: p.label, matrix: mean, std, checks: acceptanceChecks(undefined, mean) };
    });

  const report = await writeAuditReport(out);
  files.push(...report.files);
  const checks: Check[] = o.suite === "polyp" ? acceptanceChecks(paradigms, matrix) : [];
  const wallSeconds = (Date.now() - started) / 1000;
  const meta = {
    kind: o.kind,
    suite: o.suite,
    scale: o.scale,
    seeds,
    data: o.dataRoot ? (o.sequenceSource ?? resolve(o.dataRoot)) : `synthetic, generator v${o.generator ?? SYNTH_GENERATOR_VERSION} (one suite per seed under .data/)`,
    hyperparameters: { epochs: o.epochs, max_steps: o.maxSteps, lr: o.lr, batch_size: o.batchSize, model: o.model, input_size: o.inputSize ?? 0 },
    options: { shots: o.shots, buffer: o.buffer, mix: o.mix, beyond: o.beyond, only: o.only ?? null, sequence: o.sequence ?? null },
    plan,
    wall_seconds: wallSeconds,
    per_seed: perSeed.map((s) => ({ seed: s.seed, seconds: s.seconds, runs: s.runs })),
    checks,
  };
  write("experiment.json", json(meta));
  const emptyReplay = emptyReplayRuns(perSeed);
  write("results.md", resultsMarkdown(o, seeds, wallSeconds, perSeed, { paradigms, paradigmsStd, matrix, matrixStd, trained, folder, checks, extraMatrices, emptyReplay }));
  if (emptyReplay.length) o.logger.warn({ runs: emptyReplay }, "the replay buffer stayed empty in these runs: they trained like sequential (see results.md)");
  return { kind: o.kind, suite: o.suite, scale: o.scale, seeds, wallSeconds, paradigms, matrix, files };
}

/** The cross matrix of a specialized run other than the paper's (its own budget), with its checks. */
interface ExtraMatrix {
  label: string;
  matrix: CrossMatrix;
  std: (number | null)[][];
  checks: Check[];
}

function resultsMarkdown(
  o: ExperimentOptions,
  seeds: number[],
  wallSeconds: number,
  perSeed: SeedTables[],
  t: {
    paradigms?: ParadigmTable;
    paradigmsStd?: ParadigmTable;
    matrix?: CrossMatrix;
    matrixStd: (number | null)[][];
    trained: string[];
    folder: string;
    checks: Check[];
    extraMatrices: ExtraMatrix[];
    /** Runs whose replay buffer stayed empty (emptyReplayRuns). */
    emptyReplay: string[];
  },
): string {
  const lines: string[] = [];
  const dataFlags = o.dataRoot !== undefined ? `--data-root ${o.sequenceSource ?? o.dataRoot}${o.sequence ? ` --sequence ${o.sequence.join(",")}` : ""}` : undefined;
  lines.push(`# medfcl experiment ${o.kind} (${dataFlags ?? `--suite ${o.suite} --scale ${o.scale}${o.generator !== undefined && o.generator !== SYNTH_GENERATOR_VERSION ? ` --generator ${o.generator}` : ""}`})`, "");
  lines.push(
    `Seeds ${seeds.join(", ")}${seeds.length > 1 ? " (cells are mean ± sample std over seeds)" : " (one seed: no spread)"}; ${o.model} model from its base ${needsBaseWeights(o.model) ? "(pretrained, imported)" : "initialisation"}, ` +
      `${o.epochs} local epoch(s)${o.maxSteps ? `, at most ${o.maxSteps} optimiser step(s) per task` : ""}, lr ${o.lr}, batch ${o.batchSize}` +
      `${o.kind === "paradigms" ? `; joint few-shot ${o.shots} images per site; replay buffer ${o.buffer}, mix ${o.mix}` : ""}. AP is COCO AP@[.5:.95] in %. ` +
      `Run time ${fmtSeconds(perSeed.reduce((a, s) => a + s.runs.reduce((b, r) => b + r.seconds, 0), 0))} in all (the sum of the runs below); this invocation took ${fmtSeconds(wallSeconds)} (finished runs are resumed, not rerun).`,
    "",
  );
  if (t.emptyReplay.length) {
    lines.push(
      `**Warning: the replay buffer stayed empty in ${t.emptyReplay.join(", ")}.** The sites were asked for exemplars and sent none (no record marked shareable, or the privacy filter refused them all), so these runs trained like sequential. Mark shareable data with \`medfcl data split --shareable\` (\`data real-suite\` does for its public datasets).`,
      "",
    );
  }
  if (t.paradigms && t.paradigmsStd) {
    lines.push(`## Paradigms (paper Table ${o.suite === "polyp" ? 3 : 4})`, "", paradigmsMarkdown(t.paradigms, t.paradigmsStd, t.trained, o.suite));
  }
  if (t.matrix) {
    lines.push(`## ${t.folder === "cross-domain" ? "Cross-domain (paper Table 1, Fig. 3a)" : "Cross-task (paper Table 2, Fig. 3b)"}`, "", matrixMarkdown(t.matrix, t.matrixStd));
  }
  if (t.checks.length) lines.push("## The paper's claims, as measured", "", checksMarkdown(t.checks));
  for (const x of t.extraMatrices) {
    lines.push(`## Cross matrix of \`${x.label}\` (beyond the paper)`, "", matrixMarkdown(x.matrix, x.std));
    if (o.suite === "polyp") lines.push(checksMarkdown(x.checks));
  }
  lines.push("## Wall time per run", "", `| seed | ${perSeed[0].runs.map((r) => r.label).join(" | ")} | sum of runs |`, `|---|${perSeed[0].runs.map(() => "---:").join("|")}|---:|`);
  for (const s of perSeed) lines.push(`| ${s.seed} | ${s.runs.map((r) => (r.seconds ? `${Math.round(r.seconds)} s` : "–")).join(" | ")} | ${fmtSeconds(s.runs.reduce((a, r) => a + r.seconds, 0))} |`);
  lines.push("", "Figures: `report/report.html` (R heatmaps of the continual runs = paper Fig. 5, cross matrix = Fig. 3).", "");
  return `${lines.join("\n")}\n`;
}
