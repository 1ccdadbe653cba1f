import { randomUUID } from "node:crypto";
import { continualMetrics } from "../services/eval/index.js";
import { MODEL_NAMES } from "../services/model/index.js";
import type { Audit } from "../generated/medfcl/v1/Audit.js";
import type { CreateRunRequest__Output } from "../generated/medfcl/v1/CreateRunRequest.js";
import type { Run } from "../generated/medfcl/v1/Run.js";
import type { CoordinatorContext } from "./context.js";
import * as db from "./db.js";
import { InvalidRunError, RunNotFoundError } from "./errors.js";
import { accuracyMatrix, baseAp } from "./run-artifacts.js";
import { createStrategy, strategyInfo, type Hyper } from "./strategies/index.js";

/** Paper defaults (Adam 1e-4, text 1e-5, wd 0.05, batch 4, bottom two stages frozen), overridable per run. */
export function defaultHyper(): Hyper {
  return { lr: 1e-4, textLr: 1e-5, weightDecay: 0.05, batchSize: 4, epochs: 1, freezeStages: 2, gradClip: 1, seed: 1, replayRatio: 0, maxSteps: 0, inputSize: 0 };
}

function hyperFrom(req: CreateRunRequest__Output): Hyper {
  const h = req.hyperparameters;
  const d = defaultHyper();
  if (!h) return { ...d, seed: Number(req.seed) || d.seed };
  const pick = (v: number | undefined, fallback: number): number => (v === undefined || v === 0 || !Number.isFinite(v) ? fallback : v);
  const out: Hyper = {
    lr: pick(h.lr, d.lr),
    textLr: pick(h.text_lr, d.textLr),
    weightDecay: h.weight_decay ?? d.weightDecay,
    batchSize: pick(h.batch_size, d.batchSize),
    epochs: pick(h.epochs, d.epochs),
    freezeStages: h.freeze_stages ?? d.freezeStages,
    gradClip: h.grad_clip ?? d.gradClip,
    seed: Number(h.seed) || Number(req.seed) || d.seed,
    replayRatio: 0,
    maxSteps: h.max_steps ?? 0,
    inputSize: h.input_size ?? 0,
  };
  if (out.lr <= 0 || out.lr > 1) throw new InvalidRunError(`hyperparameters.lr must be in (0, 1], got ${out.lr}`, "hyperparameters.lr");
  if (out.batchSize < 1 || out.batchSize > 256) throw new InvalidRunError(`hyperparameters.batch_size must be in [1, 256], got ${out.batchSize}`, "hyperparameters.batch_size");
  if (out.epochs < 1 || out.epochs > 1000) throw new InvalidRunError(`hyperparameters.epochs must be in [1, 1000], got ${out.epochs}`, "hyperparameters.epochs");
  return out;
}

/** Validates and stores a run; the caller starts its executor. */
export function createRun(ctx: CoordinatorContext, req: CreateRunRequest__Output): db.RunRow {
  if (!req.name || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(req.name)) {
    throw new InvalidRunError(`run name "${req.name}" must be 1–64 letters, digits, '.', '_' or '-'`, "name");
  }
  if (db.getRunByName(ctx.db, req.name)) throw new InvalidRunError(`a run named "${req.name}" already exists; pick another name`, "name");
  createStrategy(req.strategy, req.options ?? {}); // validates the name and options
  if (req.sites.length === 0) throw new InvalidRunError("a run needs at least one site", "sites");
  for (const s of req.sites) if (!db.getSite(ctx.db, s)) throw new InvalidRunError(`site "${s}" is not registered; start its agent first`, "sites");
  if (new Set(req.sites).size !== req.sites.length) throw new InvalidRunError("sites must not repeat", "sites");
  const policy = req.dropout_policy || "skip";
  if (!["skip", "fail"].includes(policy)) throw new InvalidRunError(`dropout_policy must be "skip" or "fail", got "${policy}"`, "dropout_policy");
  if (req.base_version && !ctx.blobs.has(req.base_version)) throw new InvalidRunError(`base_version ${req.base_version} is not stored`, "base_version");
  if (req.model && !(MODEL_NAMES as readonly string[]).includes(req.model)) throw new InvalidRunError(`model "${req.model}" is not one of ${MODEL_NAMES.join(", ")}`, "model");
  const runId = randomUUID();
  db.insertRun(ctx.db, {
    run_id: runId,
    name: req.name,
    strategy: req.strategy,
    state: "pending",
    sites_json: JSON.stringify(req.sites),
    options_json: JSON.stringify(req.options ?? {}),
    hyper_json: JSON.stringify(hyperFrom(req)),
    model: req.model || "nano",
    seed: Number(req.seed) || 1,
    base_version: req.base_version || null,
    dropout_policy: policy,
  });
  void ctx.events.publish({ type: "run.created", runId, strategy: req.strategy, sites: req.sites, steps: strategyInfo(req.strategy).traits.stepCount(req.sites.length) });
  return db.getRun(ctx.db, runId)!;
}

export function runToWire(ctx: CoordinatorContext, run: db.RunRow): Run {
  return {
    run_id: run.run_id,
    name: run.name,
    strategy: run.strategy,
    state: run.state,
    sites: JSON.parse(run.sites_json) as string[],
    steps: db.listSteps(ctx.db, run.run_id).map((s) => ({
      index: s.idx,
      state: s.state,
      sites: JSON.parse(s.sites_json) as string[],
      domain: s.domain,
      version: s.version ?? "",
      dropouts: JSON.parse(s.dropouts_json) as string[],
    })),
    current_version: run.current_version ?? "",
    created_at: run.created_at,
    updated_at: run.updated_at,
    error: run.error ?? "",
    options: JSON.parse(run.options_json) as Record<string, string>,
  };
}

export function requireRun(ctx: CoordinatorContext, runId: string): db.RunRow {
  const run = db.getRun(ctx.db, runId) ?? db.getRunByName(ctx.db, runId);
  if (!run) throw new RunNotFoundError(runId);
  return run;
}

export function listRunsPage(ctx: CoordinatorContext, req: { page_size: number; page_token: string; state: string }): { runs: Run[]; next_page_token: string } {
  const limit = req.page_size > 0 ? Math.min(req.page_size, 500) : 50;
  const offset = req.page_token ? Number(req.page_token) : 0;
  if (!Number.isInteger(offset) || offset < 0) throw new InvalidRunError(`page_token "${req.page_token}" is not one this server issued`, "page_token");
  const rows = db.listRuns(ctx.db, { limit: limit + 1, offset, state: req.state || undefined });
  return { runs: rows.slice(0, limit).map((r) => runToWire(ctx, r)), next_page_token: rows.length > limit ? String(offset + limit) : "" };
}

export function buildAudit(ctx: CoordinatorContext, run: db.RunRow): Audit {
  const R = accuracyMatrix(ctx, run.run_id);
  const base = baseAp(ctx, run.run_id);
  // CL metrics need the trained domains among the evaluated ones (R's first T columns).
  const metrics = R.ap.length && R.domains.length >= R.steps.length ? continualMetrics(R, Object.keys(base).length ? base : undefined) : null;
  const sites = JSON.parse(run.sites_json) as string[];
  const exemplars = db.exemplarsForRun(ctx.db, run.run_id);
  const runMetrics = db.metricsForRun(ctx.db, run.run_id);
  return {
    run_id: run.run_id,
    matrix: {
      steps: R.steps,
      domains: R.domains,
      rows: R.ap.map((row) => ({ cells: row.map((v) => (v === null ? { value: 0, missing: true } : { value: v, missing: false })) })),
    },
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
    lineage: db.versionsForRun(ctx.db, run.run_id).map((v) => ({
      version: v.version,
      parent: v.parent ?? "",
      strategy: v.strategy,
      step: v.step,
      sites: JSON.parse(v.sites_json) as string[],
      created_at: v.created_at,
    })),
    rejected_updates: db.rejectedUpdatesForRun(ctx.db, run.run_id).map((u) => ({ update_id: u.update_id, site_id: u.site_id, task_id: u.task_id, reason: u.reason ?? "" })),
    sites: sites.map((siteId) => {
      const domain = db.getSite(ctx.db, siteId)?.domain ?? "";
      const f = metrics?.forgetting.per_domain[domain];
      const eps = runMetrics.filter((m) => m.site_id === siteId && m.name === "dp_epsilon").map((m) => m.value);
      return {
        site_id: siteId,
        forgetting: f ?? 0,
        forgetting_missing: f === null || f === undefined,
        exemplars_exported: exemplars.filter((e) => e.site_id === siteId).length,
        epsilon_spent: eps.length ? Math.max(...eps) : 0,
      };
    }),
  };
}
