/**
 * Evaluation at the sites (NVFlare's cross-site validation is the model): each site evaluates a
 * model version on its own held-out split and returns only pycocotools' 12 statistics and AP per
 * category. This file holds both halves of the coordinator's side: the ReportEvaluation handler's
 * checks, and what the round runner does for a run whose evaluation is "sites" or "both".
 */
import { randomUUID } from "node:crypto";
import { sameEvaluation, type DomainEvaluation } from "../services/evaluation/index.js";
import { ErrorCode, MedfclError } from "../services/errors/index.js";
import { taskOutcomeWire } from "../services/transport/index.js";
import type { ReportEvaluationRequest__Output } from "../generated/medfcl/v1/ReportEvaluationRequest.js";
import type { SiteEvaluationResult__Output } from "../generated/medfcl/v1/SiteEvaluationResult.js";
import type { CoordinatorContext } from "./context.js";
import { isEvalTaskOpen, type EvalTask, type Run, type SiteTestSet } from "./domain.js";
import { StaleTaskError, TaskNotFoundError } from "./errors.js";
import * as store from "./store/index.js";

/** pycocotools' COCOeval.stats has exactly this many numbers. */
export const COCO_STATS = 12;
/** A refusal's reason is shown in the audit; it is a sentence, not a channel. */
export const EVAL_REASON_CHARS = 500;

function invalid(message: string, field: string): MedfclError {
  return new MedfclError(ErrorCode.InvalidArgument, message, { details: { field } });
}

const inUnitRange = (v: number): boolean => Number.isFinite(v) && v >= -1 && v <= 1;

/**
 * What a site may return, checked field by field: 12 statistics, each a fraction in [-1, 1]
 * (-1: undefined); one AP per declared category at most, each once, in [-1, 1]; and the number of
 * images the site declared. The proto has no field for anything else (unknown fields are dropped
 * when the message is decoded), so detections, boxes, images and record ids cannot arrive.
 */
export function checkSiteEvaluation(r: SiteEvaluationResult__Output, testSet: SiteTestSet): DomainEvaluationBody {
  if (r.stats.length !== COCO_STATS) throw invalid(`result.stats holds ${r.stats.length} values; pycocotools' summary has exactly ${COCO_STATS}`, "result.stats");
  const bad = r.stats.findIndex((v) => !inUnitRange(v));
  if (bad >= 0) throw invalid(`result.stats[${bad}] is ${r.stats[bad]}; COCO statistics are fractions in [0, 1], or -1 when undefined`, `result.stats[${bad}]`);
  if (r.num_images !== testSet.numImages) {
    throw invalid(`result.num_images is ${r.num_images} but the site declared a test split of ${testSet.numImages} images at Register`, "result.num_images");
  }
  const declared = new Set(testSet.categoryIds);
  const perCategoryAp: Record<number, number> = {};
  r.per_category.forEach((c, i) => {
    if (!declared.has(c.category_id)) throw invalid(`result.per_category[${i}] names category ${c.category_id}, which the site's test split does not declare`, `result.per_category[${i}].category_id`);
    if (c.category_id in perCategoryAp) throw invalid(`result.per_category[${i}] repeats category ${c.category_id}`, `result.per_category[${i}].category_id`);
    if (!inUnitRange(c.ap)) throw invalid(`result.per_category[${i}].ap is ${c.ap}; AP is a fraction in [0, 1], or -1 when undefined`, `result.per_category[${i}].ap`);
    perCategoryAp[c.category_id] = c.ap;
  });
  return { stats: [...r.stats], perCategoryAp };
}

type DomainEvaluationBody = Pick<DomainEvaluation, "stats" | "perCategoryAp">;

/** The AP and AP50 R keeps, derived from the statistics exactly as the central evaluator derives them. */
export function toDomainEvaluation(domain: string, body: DomainEvaluationBody): DomainEvaluation {
  return { domain, ap: Math.max(0, body.stats[0]) * 100, ap50: Math.max(0, body.stats[1]) * 100, stats: body.stats, perCategoryAp: body.perCategoryAp };
}

function requireEvalTaskOfSite(ctx: CoordinatorContext, siteId: string, taskId: string): EvalTask {
  const task = store.getEvalTask(ctx.db, taskId);
  if (!task) throw new TaskNotFoundError(taskId);
  if (task.siteId !== siteId) {
    ctx.logger.warn({ siteId, taskId, owner: task.siteId }, "site reported another site's evaluation");
    throw new MedfclError(ErrorCode.PermissionDenied, `eval task ${taskId} does not belong to site ${siteId}`, { details: { taskId, siteId } });
  }
  return task;
}

/** ReportEvaluation: stores a site's statistics, or its refusal with the reason. */
export function reportEvaluation(ctx: CoordinatorContext, siteId: string, req: Pick<ReportEvaluationRequest__Output, "task_id" | "result" | "outcome">): { accepted: boolean; duplicate: boolean } {
  const task = requireEvalTaskOfSite(ctx, siteId, req.task_id);
  const hasResult = Boolean(req.result);
  const outcome = taskOutcomeWire.fromWire(req.outcome?.kind);
  if (hasResult === Boolean(outcome)) throw invalid("ReportEvaluation carries either a result or an outcome (refused or failed), exactly one", hasResult ? "outcome" : "result");
  if (!isEvalTaskOpen(task.state)) {
    // A retry after a lost answer: the same kind of report again is a duplicate, anything else stale.
    if ((task.state === "done" && hasResult) || task.state === outcome) return { accepted: true, duplicate: true };
    throw new StaleTaskError(task.taskId, task.state);
  }
  if (outcome) {
    if (outcome === "ok") throw invalid("an outcome without a result must be REFUSED or FAILED", "outcome.kind");
    const reason = (req.outcome?.reason ?? "").trim() || outcome;
    if (reason.length > EVAL_REASON_CHARS) throw invalid(`outcome.reason is ${reason.length} characters, more than ${EVAL_REASON_CHARS}`, "outcome.reason");
    store.finishEvalTask(ctx.db, task.taskId, outcome, { reason: `${siteId} ${outcome}: ${reason}` });
    ctx.logger.warn({ siteId, taskId: task.taskId, step: task.step, reason }, `site ${outcome} the evaluation`);
  } else {
    const testSet = store.getSiteTestSet(ctx.db, siteId);
    if (!testSet) throw new MedfclError(ErrorCode.FailedPrecondition, `site ${siteId} declared no test split at Register; register with one (medfcl agent --test-data DIR)`, { details: { siteId } });
    const body = checkSiteEvaluation(req.result!, testSet);
    store.finishEvalTask(ctx.db, task.taskId, "done", { result: toDomainEvaluation(task.domain, body) });
    ctx.logger.info({ siteId, taskId: task.taskId, step: task.step, domain: task.domain, ap: toDomainEvaluation(task.domain, body).ap }, "site evaluation received");
  }
  ctx.hub.notifyTaskFinished(task.taskId);
  return { accepted: true, duplicate: false };
}

// ---- the round runner's side -------------------------------------------------------------------

/** Each domain once: the first of the run's sites (in run order) whose domain it is evaluates it. */
function evaluatorsOf(ctx: CoordinatorContext, run: Run): { siteId: string; domain: string }[] {
  const seen = new Set<string>();
  const out: { siteId: string; domain: string }[] = [];
  for (const siteId of run.sites) {
    const domain = store.getSite(ctx.db, siteId)?.domain;
    if (!domain || seen.has(domain)) continue;
    seen.add(domain);
    out.push({ siteId, domain });
  }
  return out;
}

/** The eval tasks of a step, made once (a resumed run finds them in SQLite). */
function ensureEvalTasks(ctx: CoordinatorContext, run: Run, step: number, version: string): EvalTask[] {
  const existing = store.evalTasksForStep(ctx.db, run.runId, step).filter((t) => t.version === version);
  if (existing.length) return existing;
  const deadline = new Date(Date.now() + ctx.config.taskDeadlineMs).toISOString();
  for (const { siteId, domain } of evaluatorsOf(ctx, run)) {
    const testSet = store.getSiteTestSet(ctx.db, siteId);
    const reason = testSet ? null : `${siteId} holds no test split (its agent runs without --test-data, or was built before evaluation at the sites)`;
    store.insertEvalTask(ctx.db, { taskId: randomUUID(), runId: run.runId, step, siteId, domain, version, state: testSet ? "assigned" : "unavailable", deadline, reason });
    if (testSet) ctx.hub.notifyTaskAssigned(siteId);
  }
  return store.evalTasksForStep(ctx.db, run.runId, step).filter((t) => t.version === version);
}

/** Open eval tasks whose deadline passed or whose site went silent end as dropped, with the reason. */
function sweepEvalDropouts(ctx: CoordinatorContext, tasks: EvalTask[]): void {
  const silentMs = ctx.config.heartbeatIntervalMs * ctx.config.heartbeatMisses;
  for (const t of tasks) {
    const task = store.getEvalTask(ctx.db, t.taskId)!;
    if (!isEvalTaskOpen(task.state)) continue;
    const site = store.getSite(ctx.db, task.siteId);
    let reason: string | null = null;
    if (Date.now() > Date.parse(task.deadline)) reason = `${task.siteId}: deadline ${task.deadline} passed`;
    else if (site && Date.now() - Date.parse(site.lastSeenAt) > silentMs && Date.now() - Date.parse(task.createdAt) > silentMs) {
      reason = `${task.siteId}: no heartbeat for ${Math.round((Date.now() - Date.parse(site.lastSeenAt)) / 1000)} s`;
    }
    if (reason && store.finishEvalTask(ctx.db, task.taskId, "dropped", { reason })) ctx.logger.warn({ siteId: task.siteId, taskId: task.taskId, reason }, "site gone before it evaluated");
  }
}

export interface SiteEvaluations {
  /** Results that arrived, with the site that returned each. */
  results: { siteId: string; evaluation: DomainEvaluation }[];
  /** Cells left empty, with why. */
  missing: { domain: string; siteId: string; reason: string }[];
}

/**
 * Asks every site of the run to evaluate `version` on its own split and waits until each has
 * answered, refused, or gone (deadline or heartbeat silence). Never throws for a site: a missing
 * cell is data, with its reason.
 */
export async function evaluateAtSites(ctx: CoordinatorContext, run: Run, step: number, version: string): Promise<SiteEvaluations> {
  const tasks = ensureEvalTasks(ctx, run, step, version);
  for (;;) {
    sweepEvalDropouts(ctx, tasks);
    const open = tasks.filter((t) => isEvalTaskOpen(store.getEvalTask(ctx.db, t.taskId)!.state));
    if (open.length === 0 || ctx.signal.aborted) break;
    await ctx.hub.waitForAnyTaskFinished(open.map((t) => t.taskId), Math.min(1000, ctx.config.heartbeatIntervalMs), ctx.signal);
  }
  const out: SiteEvaluations = { results: [], missing: [] };
  for (const t of tasks) {
    const now = store.getEvalTask(ctx.db, t.taskId)!;
    const result = now.state === "done" ? (store.evalTaskResult(ctx.db, now.taskId) as DomainEvaluation | undefined) : undefined;
    if (result) out.results.push({ siteId: now.siteId, evaluation: result });
    else out.missing.push({ domain: now.domain, siteId: now.siteId, reason: now.reason ?? now.state });
  }
  return out;
}

/** Cancels a failed run's open eval tasks, so its sites stop being handed them. */
export function cancelOpenEvalTasks(ctx: CoordinatorContext, runId: string): void {
  for (const t of store.evalTasksOfRun(ctx.db, runId)) if (isEvalTaskOpen(t.state)) store.finishEvalTask(ctx.db, t.taskId, "cancelled", { reason: "run failed" });
}

/** One differing cell of a run that evaluates both centrally and at the sites; null when they agree exactly. */
export function disagreement(step: number, central: Pick<DomainEvaluation, "domain" | "ap" | "stats" | "perCategoryAp">, site: DomainEvaluation, siteId: string): string | null {
  if (sameEvaluation(central, site)) return null;
  return `step ${step < 0 ? "base" : step} / ${central.domain}: central AP ${central.ap} (stats ${JSON.stringify(central.stats)}) ≠ ${siteId} AP ${site.ap} (stats ${JSON.stringify(site.stats)})`;
}

/**
 * For a run that evaluates "both": every cell that both the coordinator and a site produced,
 * compared bit for bit (statistics and per-category AP). They must agree: same code, same bytes.
 */
export function evaluationAgreement(ctx: CoordinatorContext, runId: string): { cellsCompared: number; mismatches: string[] } {
  const central = store.evaluationsForRun(ctx.db, runId).filter((e) => e.source === "central");
  let cellsCompared = 0;
  const mismatches: string[] = [];
  for (const t of store.evalTasksOfRun(ctx.db, runId)) {
    if (t.state !== "done") continue;
    const c = central.find((e) => e.step === t.step && e.domain === t.domain);
    const site = store.evalTaskResult(ctx.db, t.taskId) as DomainEvaluation | undefined;
    if (!c || !site) continue;
    cellsCompared++;
    // A stored statistic COCO left undefined is null in JSON; NaN is the number it stood for.
    const stats = c.stats.map((v) => (v === null ? Number.NaN : v));
    const perCategoryAp = Object.fromEntries(Object.entries(c.perCategoryAp).map(([k, v]) => [k, v === null ? Number.NaN : v]));
    const m = disagreement(t.step, { domain: c.domain, ap: c.ap, stats, perCategoryAp }, site, t.siteId);
    if (m) mismatches.push(m);
  }
  return { cellsCompared, mismatches };
}

/** The reasons of a run's empty site-evaluation cells: `{step, domain, site, reason}`, base model as step -1. */
export function missingSiteCells(ctx: CoordinatorContext, runId: string): { step: number; domain: string; siteId: string; reason: string }[] {
  return store
    .evalTasksOfRun(ctx.db, runId)
    .filter((t) => t.state !== "done" && !isEvalTaskOpen(t.state))
    .map((t) => ({ step: t.step, domain: t.domain, siteId: t.siteId, reason: t.reason ?? t.state }));
}
