import { randomUUID } from "node:crypto";
import { continualMetrics } from "../services/eval/index.js";
import { DEFAULT_MODEL_FAMILY, findModelFamily, modelFamilyNames, type TrainingDefaults } from "../services/model/index.js";
import type { Audit } from "../generated/medfcl/v1/Audit.js";
import type { CreateRunRequest__Output } from "../generated/medfcl/v1/CreateRunRequest.js";
import type { Run as WireRun } from "../generated/medfcl/v1/Run.js";
import type { CoordinatorContext } from "./context.js";
import { hyperDefaults, type Hyper, type Run } from "./domain.js";
import * as store from "./store/index.js";
import { InvalidRunError, RunNotFoundError } from "./errors.js";
import { accuracyMatrix, baseAp, missingReasons } from "./run-artifacts.js";
import { evaluationAgreement } from "./site-evaluation.js";
import { checkSecureRun } from "./secure-aggregation.js";
import { createStrategy, resolveStrategyOptions, strategyInfo } from "./strategies/index.js";
import { createRunFromWire, runToWire as runMessage } from "./wire.js";

/** The model a request names, or the registry's default, with that family's training defaults. */
function resolveModel(requested: string): { model: string; defaults: TrainingDefaults } {
  const model = requested || DEFAULT_MODEL_FAMILY;
  const family = findModelFamily(model);
  if (!family) throw new InvalidRunError(`model "${model}" is not one of ${modelFamilyNames().join(", ")}`, "model");
  return { model, defaults: family.training };
}

/** The hyper-parameters a run of `model` (default: the registry's default) gets when it sets none. */
export function defaultHyper(model = "", seed = 1): Hyper {
  return hyperDefaults(resolveModel(model).defaults, seed);
}

/**
 * The model a run trains: the request's; else, with a stored base version, that checkpoint's
 * family (so its training defaults apply); else the registry's default. A model that is not the
 * base version's family is refused.
 */
function runModel(ctx: CoordinatorContext, requested: string, baseVersion: string): string {
  const base = baseVersion && ctx.blobs.has(baseVersion) ? ctx.models.modelOf(ctx.blobs.pathOf(baseVersion)) : "";
  if (base && requested && requested !== base) throw new InvalidRunError(`model "${requested}" does not match base_version ${baseVersion}, a ${base} checkpoint; leave model unset or name ${base}`, "model");
  return requested || base;
}

/** Validates and stores a run; the caller starts its executor. */
export function createRun(ctx: CoordinatorContext, req: CreateRunRequest__Output): Run {
  const input = createRunFromWire(req, (requested) => resolveModel(runModel(ctx, requested, req.base_version)));
  // A run would fill the state dir further; it is refused until there is room.
  ctx.storage.assertWritable("CreateRun");
  if (store.getRunByName(ctx.db, input.name)) throw new InvalidRunError(`a run named "${input.name}" already exists; pick another name`, "name");
  // Validated and resolved once: the run stores every option typed, defaults included.
  const options = resolveStrategyOptions(input.strategy, input.options);
  for (const s of input.sites) if (!store.getSite(ctx.db, s)) throw new InvalidRunError(`site "${s}" is not registered; start its agent first`, "sites");
  if (input.baseVersion && !ctx.blobs.has(input.baseVersion)) throw new InvalidRunError(`base_version ${input.baseVersion} is not stored`, "base_version");
  // A run that starts from the family's published weights needs them here now, not when it starts:
  // refused with what to do (BaseWeightsError, FAILED_PRECONDITION), never another model instead.
  if (!input.baseVersion) ctx.models.checkModel(input.model);
  if (input.secureAggregation) {
    const infos = input.sites.map((siteId) => ({ siteId, domain: store.getSite(ctx.db, siteId)!.domain, numImages: store.getSite(ctx.db, siteId)!.manifest.num_images }));
    checkSecureRun(input, createStrategy(input.strategy, options).planSteps(infos, input.hyper).map((s) => s.sites.length));
  }
  const runId = randomUUID();
  store.insertRun(ctx.db, {
    runId,
    name: input.name,
    strategy: input.strategy,
    state: "pending",
    sites: input.sites,
    options,
    hyper: input.hyper,
    model: input.model,
    seed: input.seed,
    baseVersion: input.baseVersion,
    dropoutPolicy: input.dropoutPolicy,
    deltaEncoding: input.deltaEncoding,
    evaluation: input.evaluation,
    secureAggregation: input.secureAggregation,
    secureAggregationThreshold: input.secureAggregationThreshold,
  });
  void ctx.events.publish({ type: "run.created", runId, strategy: input.strategy, sites: input.sites, steps: strategyInfo(input.strategy).traits.stepCount(input.sites.length) });
  return store.getRun(ctx.db, runId)!;
}

export function runToWire(ctx: CoordinatorContext, run: Run): WireRun {
  return runMessage(run, store.listSteps(ctx.db, run.runId));
}

export function requireRun(ctx: CoordinatorContext, runId: string): Run {
  const run = store.getRun(ctx.db, runId) ?? store.getRunByName(ctx.db, runId);
  if (!run) throw new RunNotFoundError(runId);
  return run;
}

export function listRunsPage(ctx: CoordinatorContext, req: { page_size: number; page_token: string; state: string }): { runs: WireRun[]; next_page_token: string } {
  const limit = req.page_size > 0 ? Math.min(req.page_size, 500) : 50;
  const offset = req.page_token ? Number(req.page_token) : 0;
  if (!Number.isInteger(offset) || offset < 0) throw new InvalidRunError(`page_token "${req.page_token}" is not one this server issued`, "page_token");
  const rows = store.listRuns(ctx.db, { limit: limit + 1, offset, state: req.state || undefined });
  return { runs: rows.slice(0, limit).map((r) => runToWire(ctx, r)), next_page_token: rows.length > limit ? String(offset + limit) : "" };
}

export function buildAudit(ctx: CoordinatorContext, run: Run): Audit {
  const R = accuracyMatrix(ctx, run.runId);
  const base = baseAp(ctx, run.runId);
  // CL metrics need the trained domains among the evaluated ones (R's first T columns).
  const metrics = R.ap.length && R.domains.length >= R.steps.length ? continualMetrics(R, Object.keys(base).length ? base : undefined) : null;
  const sites = run.sites;
  const exemplars = store.exemplarsForRun(ctx.db, run.runId);
  const runMetrics = store.metricsForRun(ctx.db, run.runId);
  const reasons = missingReasons(ctx, run.runId);
  const closedSteps = store.listSteps(ctx.db, run.runId).filter((s) => s.state === "closed");
  const agreement = run.evaluation === "both" ? evaluationAgreement(ctx, run.runId) : null;
  return {
    run_id: run.runId,
    matrix: {
      steps: R.steps,
      domains: R.domains,
      rows: R.ap.map((row, i) => ({
        cells: row.map((v, j) => (v === null ? { value: 0, missing: true, missing_reason: reasons[`${closedSteps[i]?.index}/${R.domains[j]}`] ?? "" } : { value: v, missing: false, missing_reason: "" })),
      })),
    },
    evaluation_agreement: agreement ? { cells_compared: agreement.cellsCompared, mismatches: agreement.mismatches } : null,
    metrics: metrics
      ? (
          [
            ["acc", metrics.acc],
            ["bwt", metrics.bwt],
            ["fwt", metrics.fwt],
            ["forgetting_mean", metrics.forgetting.mean],
          ] as const
        )
          .filter(([, v]) => v !== null)
          .map(([name, value]) => ({ name, value: value as number, step: -1 }))
      : [],
    lineage: store.versionsForRun(ctx.db, run.runId).map((v) => ({
      version: v.version,
      parent: v.parent ?? "",
      strategy: v.strategy,
      step: v.step,
      sites: v.sites,
      created_at: v.createdAt,
    })),
    rejected_updates: store.rejectedUpdatesForRun(ctx.db, run.runId).map((u) => ({ update_id: u.updateId, site_id: u.siteId, task_id: u.taskId, reason: u.reason ?? "" })),
    sites: sites.map((siteId) => {
      const domain = store.getSite(ctx.db, siteId)?.domain ?? "";
      const f = metrics?.forgetting.per_domain[domain];
      const eps = runMetrics.filter((m) => m.siteId === siteId && m.name === "dp_epsilon").map((m) => m.value);
      return {
        site_id: siteId,
        forgetting: f ?? 0,
        forgetting_missing: f === null || f === undefined,
        exemplars_exported: exemplars.filter((e) => e.siteId === siteId).length,
        epsilon_spent: eps.length ? Math.max(...eps) : 0,
      };
    }),
  };
}
