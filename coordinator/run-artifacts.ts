import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomicSync } from "../services/store/index.js";
import type { CoordinatorContext } from "./context.js";
import type { AccuracyMatrix } from "../services/eval/index.js";
import * as store from "./store/index.js";
import { evaluationAgreement, missingSiteCells } from "./site-evaluation.js";

/** Eval domains with the trained ones first, in step order, so R's first T columns are the diagonal's. */
export function orderDomains(trainedInOrder: string[], evalDomains: string[]): string[] {
  const trained = trainedInOrder.filter((d, i) => evalDomains.includes(d) && trainedInOrder.indexOf(d) === i);
  return [...trained, ...evalDomains.filter((d) => !trained.includes(d))];
}

/**
 * R's columns. Central: the coordinator's test sets. Sites: the domains of the run's sites (a site
 * that never answered still has its column, empty, with the reason). Both: the union.
 */
function evaluatedDomains(ctx: CoordinatorContext, runId: string, evalDomains: string[]): string[] {
  const run = store.getRun(ctx.db, runId);
  const central = Object.keys(ctx.config.evalSets);
  if (!run || run.evaluation === "central") return central.length ? central : evalDomains;
  const siteDomains = run.sites.map((s) => store.getSite(ctx.db, s)?.domain).filter((d): d is string => Boolean(d));
  return [...new Set([...siteDomains, ...(run.evaluation === "both" ? central : []), ...evalDomains])];
}

export function accuracyMatrix(ctx: CoordinatorContext, runId: string): AccuracyMatrix {
  const steps = store.listSteps(ctx.db, runId);
  const evals = store.evaluationsForRun(ctx.db, runId);
  const domains = orderDomains(
    steps.map((s) => s.domain),
    evaluatedDomains(ctx, runId, [...new Set(evals.map((e) => e.domain))]),
  );
  const closed = steps.filter((s) => s.state === "closed");
  const ap = closed.map((s) => domains.map((d) => evals.find((e) => e.step === s.index && e.domain === d)?.ap ?? null));
  return { steps: closed.map((s) => s.domain), domains, ap };
}

export function baseAp(ctx: CoordinatorContext, runId: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of store.evaluationsForRun(ctx.db, runId)) if (e.step === -1) out[e.domain] = e.ap;
  return out;
}

/** Why a cell of R is empty, for the cells a site did not fill: `{"<step>/<domain>": reason}`, base as step -1. */
export function missingReasons(ctx: CoordinatorContext, runId: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of missingSiteCells(ctx, runId)) out[`${m.step}/${m.domain}`] = m.reason;
  // Central cells that JetStream workers could not fill (MaxDeliver reached, or the evaluation failed).
  const stepOf = new Map<string, number>(store.listSteps(ctx.db, runId).flatMap((s) => (s.version ? [[s.version, s.index] as [string, number]] : [])));
  const base = store.getRun(ctx.db, runId)?.baseVersion;
  if (base) stepOf.set(base, -1);
  for (const f of store.centralFailures(ctx.db, [...stepOf.keys()])) out[`${stepOf.get(f.version)}/${f.domain}`] ??= `central evaluation: ${f.reason}`;
  return out;
}

/**
 * Where the run evaluated and what came of it at the sites (evaluation.json): each site's cell
 * that stayed empty with its reason, and for "both" the cells compared and any that differ.
 */
export function evaluationSummary(ctx: CoordinatorContext, runId: string): Record<string, unknown> | null {
  const run = store.getRun(ctx.db, runId);
  if (!run || run.evaluation === "central") return null;
  const stepDomain = new Map(store.listSteps(ctx.db, runId).map((s) => [s.index, s.domain]));
  return {
    placement: run.evaluation,
    missing: missingSiteCells(ctx, runId).map((m) => ({ step: m.step < 0 ? "base" : (stepDomain.get(m.step) ?? String(m.step)), domain: m.domain, site: m.siteId, reason: m.reason })),
    ...(run.evaluation === "both" ? { agreement: evaluationAgreement(ctx, runId) } : {}),
  };
}

/**
 * Category names of each central test set (`{domain: {categoryId: name}}`), read from its COCO
 * annotations, so the report names categories instead of numbering them. A set that cannot be read
 * is left out: the report then falls back to the id.
 */
export function evalSetCategories(ctx: CoordinatorContext): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [domain, dir] of Object.entries(ctx.config.evalSets)) {
    try {
      const coco = JSON.parse(readFileSync(join(dir, "annotations.json"), "utf8")) as { categories?: { id: number; name: string }[] };
      out[domain] = Object.fromEntries((coco.categories ?? []).map((c) => [String(c.id), c.name]));
    } catch (err) {
      ctx.logger.warn({ domain, dir, err: (err as Error).message }, "cannot read the eval set's categories; the report shows category ids");
    }
  }
  return out;
}

/** What the replay buffer was offered: exemplars asked of the sites and received, per step. */
export interface ReplaySummary {
  requested: number;
  received: number;
  received_per_step: Record<string, number>;
}

/**
 * Sums, per step, the exemplars the tasks asked for and those that arrived. A run that asked and
 * received none trained like sequential: its sites hold no shareable records, or the privacy
 * filter refused them all (docs/results.md §G found exactly this).
 */
export function replaySummary(tasks: { taskId: string; step: number; exemplarsWanted: number }[], exemplarTaskIds: string[]): ReplaySummary {
  const stepOf = new Map(tasks.map((t) => [t.taskId, t.step]));
  const perStep: Record<string, number> = {};
  for (const t of tasks) if (t.exemplarsWanted > 0) perStep[String(t.step)] ??= 0;
  for (const id of exemplarTaskIds) {
    const step = stepOf.get(id);
    if (step !== undefined) perStep[String(step)] = (perStep[String(step)] ?? 0) + 1;
  }
  return {
    requested: tasks.reduce((a, t) => a + t.exemplarsWanted, 0),
    received: Object.values(perStep).reduce((a, n) => a + n, 0),
    received_per_step: perStep,
  };
}

export function runReplaySummary(ctx: CoordinatorContext, runId: string): ReplaySummary {
  const tasks = store.tasksOfRun(ctx.db, runId).map((t) => ({ taskId: t.taskId, step: t.step, exemplarsWanted: t.spec.exemplarsWanted }));
  return replaySummary(
    tasks,
    store.exemplarsForRun(ctx.db, runId).map((e) => e.taskId),
  );
}

/** Writes R.json, base.json, per_category.json, categories.json and run.json so `medfcl audit report --run DIR` works. */
export function writeRunArtifacts(ctx: CoordinatorContext, runId: string): string {
  const run = store.getRun(ctx.db, runId);
  if (!run) return "";
  const dir = join(ctx.runsDir, run.name);
  const R = accuracyMatrix(ctx, runId);
  writeFileAtomicSync(join(dir, "R.json"), `${JSON.stringify(R, null, 2)}\n`);
  const base = baseAp(ctx, runId);
  if (Object.keys(base).length) writeFileAtomicSync(join(dir, "base.json"), `${JSON.stringify(base, null, 2)}\n`);
  const perCategory: Record<string, Record<string, Record<string, number>>> = {};
  for (const e of store.evaluationsForRun(ctx.db, runId)) {
    const key = e.step === -1 ? "base" : String(e.step);
    perCategory[key] ??= {};
    // The evaluator gives per-category AP as a fraction; R and the report are in %.
    // A category COCO left undefined (stored as null) is written as 0, as before.
    perCategory[key][e.domain] = Object.fromEntries(Object.entries(e.perCategoryAp).map(([c, v]) => [c, (v ?? 0) * 100]));
  }
  writeFileAtomicSync(join(dir, "per_category.json"), `${JSON.stringify(perCategory, null, 2)}\n`);
  writeFileAtomicSync(join(dir, "categories.json"), `${JSON.stringify(evalSetCategories(ctx), null, 2)}\n`);
  const evaluation = evaluationSummary(ctx, runId);
  if (evaluation) writeFileAtomicSync(join(dir, "evaluation.json"), `${JSON.stringify(evaluation, null, 2)}\n`);
  const steps = store.listSteps(ctx.db, runId);
  const meta = {
    run_id: run.runId,
    name: run.name,
    strategy: run.strategy,
    state: run.state,
    seed: run.seed,
    model: run.model,
    sites: run.sites,
    options: run.options,
    hyperparameters: run.hyper,
    delta_encoding: run.deltaEncoding,
    dropout_policy: run.dropoutPolicy,
    evaluation: run.evaluation,
    secure_aggregation: run.secureAggregation ? { threshold: run.secureAggregationThreshold || "majority" } : false,
    created_at: run.createdAt,
    updated_at: run.updatedAt,
    base_version: run.baseVersion,
    current_version: run.currentVersion,
    steps: steps.map((s) => ({ index: s.index, domain: s.domain, sites: s.sites, version: s.version, state: s.state, dropouts: s.dropouts })),
    lineage: store.versionsForRun(ctx.db, runId).map((v) => ({ version: v.version, parent: v.parent, step: v.step, strategy: v.strategy, sites: v.sites })),
    rejected_updates: store.rejectedUpdatesForRun(ctx.db, runId).map((u) => ({ update_id: u.updateId, site_id: u.siteId, task_id: u.taskId, reason: u.reason })),
    replay: runReplaySummary(ctx, runId),
    error: run.error,
  };
  writeFileAtomicSync(join(dir, "run.json"), `${JSON.stringify(meta, null, 2)}\n`);
  return dir;
}
