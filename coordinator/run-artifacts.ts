import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomicSync } from "../services/store/index.js";
import type { CoordinatorContext } from "./context.js";
import * as db from "./db.js";

export interface AccuracyMatrixJson {
  steps: string[];
  domains: string[];
  ap: (number | null)[][];
}

/** Eval domains with the trained ones first, in step order, so R's first T columns are the diagonal's. */
export function orderDomains(trainedInOrder: string[], evalDomains: string[]): string[] {
  const trained = trainedInOrder.filter((d, i) => evalDomains.includes(d) && trainedInOrder.indexOf(d) === i);
  return [...trained, ...evalDomains.filter((d) => !trained.includes(d))];
}

export function accuracyMatrix(ctx: CoordinatorContext, runId: string): AccuracyMatrixJson {
  const steps = db.listSteps(ctx.db, runId);
  const evals = db.evaluationsForRun(ctx.db, runId);
  const domains = orderDomains(
    steps.map((s) => s.domain),
    Object.keys(ctx.config.evalSets).length ? Object.keys(ctx.config.evalSets) : [...new Set(evals.map((e) => e.domain))],
  );
  const closed = steps.filter((s) => s.state === "closed");
  const ap = closed.map((s) => domains.map((d) => evals.find((e) => e.step === s.idx && e.domain === d)?.ap ?? null));
  return { steps: closed.map((s) => s.domain), domains, ap };
}

export function baseAp(ctx: CoordinatorContext, runId: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of db.evaluationsForRun(ctx.db, runId)) if (e.step === -1) out[e.domain] = e.ap;
  return out;
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

/** Writes R.json, base.json, per_category.json, categories.json and run.json so `medfcl audit report --run DIR` works. */
export function writeRunArtifacts(ctx: CoordinatorContext, runId: string): string {
  const run = db.getRun(ctx.db, runId);
  if (!run) return "";
  const dir = join(ctx.runsDir, run.name);
  const R = accuracyMatrix(ctx, runId);
  writeFileAtomicSync(join(dir, "R.json"), `${JSON.stringify(R, null, 2)}\n`);
  const base = baseAp(ctx, runId);
  if (Object.keys(base).length) writeFileAtomicSync(join(dir, "base.json"), `${JSON.stringify(base, null, 2)}\n`);
  const perCategory: Record<string, Record<string, Record<string, number>>> = {};
  for (const e of db.evaluationsForRun(ctx.db, runId)) {
    const key = e.step === -1 ? "base" : String(e.step);
    perCategory[key] ??= {};
    // The evaluator gives per-category AP as a fraction; R and the report are in %.
    const byCat = JSON.parse(e.per_category_json) as Record<string, number>;
    perCategory[key][e.domain] = Object.fromEntries(Object.entries(byCat).map(([c, v]) => [c, v * 100]));
  }
  writeFileAtomicSync(join(dir, "per_category.json"), `${JSON.stringify(perCategory, null, 2)}\n`);
  writeFileAtomicSync(join(dir, "categories.json"), `${JSON.stringify(evalSetCategories(ctx), null, 2)}\n`);
  const steps = db.listSteps(ctx.db, runId);
  const meta = {
    run_id: run.run_id,
    name: run.name,
    strategy: run.strategy,
    state: run.state,
    seed: run.seed,
    model: run.model,
    sites: JSON.parse(run.sites_json) as string[],
    options: JSON.parse(run.options_json) as Record<string, string>,
    hyperparameters: JSON.parse(run.hyper_json) as unknown,
    created_at: run.created_at,
    updated_at: run.updated_at,
    base_version: run.base_version,
    current_version: run.current_version,
    steps: steps.map((s) => ({ index: s.idx, domain: s.domain, sites: JSON.parse(s.sites_json) as string[], version: s.version, state: s.state, dropouts: JSON.parse(s.dropouts_json) as string[] })),
    lineage: db.versionsForRun(ctx.db, runId).map((v) => ({ version: v.version, parent: v.parent, step: v.step, strategy: v.strategy, sites: JSON.parse(v.sites_json) as string[] })),
    rejected_updates: db.rejectedUpdatesForRun(ctx.db, runId).map((u) => ({ update_id: u.update_id, site_id: u.site_id, task_id: u.task_id, reason: u.reason })),
    error: run.error,
  };
  writeFileAtomicSync(join(dir, "run.json"), `${JSON.stringify(meta, null, 2)}\n`);
  return dir;
}
