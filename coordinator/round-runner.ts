import { randomUUID } from "node:crypto";
import { ErrorCode, MedfclError } from "../services/errors/index.js";
import type { ReplayItem } from "../services/replay/index.js";
import type { CoordinatorContext } from "./context.js";
import * as db from "./db.js";
import type { EvalSet } from "./model-ops.js";
import { orderDomains, writeRunArtifacts } from "./run-artifacts.js";
import { createStrategy, type Hyper, type SiteFailure, type SiteInfo, type SiteUpdate, type StepSpec, type Strategy } from "./strategies/index.js";

/** What a task row stores about its plan (spec_json). */
export interface TaskSpecJson {
  hyper: Hyper;
  exemplarIds: string[];
  exemplarsWanted: number;
  exemplarSampler: string;
  shots: number;
  /** Absent in tasks stored before the field existed: read as "random". */
  shotsSelection?: string;
  deltaEncoding: string;
  strategy: string;
}

const TERMINAL: db.TaskState[] = ["done", "rejected", "dropped", "cancelled", "refused", "failed"];

function siteInfos(ctx: CoordinatorContext, siteIds: string[]): SiteInfo[] {
  return siteIds.map((siteId) => {
    const row = db.getSite(ctx.db, siteId);
    if (!row) throw new MedfclError(ErrorCode.FailedPrecondition, `site ${siteId} is not registered`, { details: { siteId } });
    const manifest = JSON.parse(row.manifest_json) as { num_images: number };
    return { siteId, domain: row.domain, numImages: manifest.num_images };
  });
}

function evalSets(ctx: CoordinatorContext, steps: StepSpec[]): EvalSet[] {
  const all = ctx.config.evalSets;
  return orderDomains(steps.map((s) => s.domain), Object.keys(all)).map((domain) => ({ domain, dir: all[domain] }));
}

function replayPool(ctx: CoordinatorContext, runId: string): ReplayItem[] {
  return db.exemplarsForRun(ctx.db, runId).map((e, order) => ({
    id: e.exemplar_id,
    domain: e.domain,
    categoryIds: (JSON.parse(e.boxes_json) as { category_id: number }[]).map((b) => b.category_id),
    order,
  }));
}

async function evaluateVersion(ctx: CoordinatorContext, runId: string, step: number, version: string, sets: EvalSet[]): Promise<Record<string, number>> {
  if (sets.length === 0) return {};
  const started = Date.now();
  const results = await ctx.models.evaluate(ctx.blobs.get(version), sets);
  const ap: Record<string, number> = {};
  for (const r of results) {
    db.upsertEvaluation(ctx.db, {
      run_id: runId,
      step,
      domain: r.domain,
      version,
      ap: r.ap,
      ap50: r.ap50,
      stats_json: JSON.stringify(r.stats),
      per_category_json: JSON.stringify(r.perCategoryAp),
    });
    ap[r.domain] = r.ap;
  }
  ctx.logger.info({ runId, step, version: version.slice(0, 12), ap, ms: Date.now() - started }, step < 0 ? "base model evaluated" : "step evaluated");
  return ap;
}

/** Marks open tasks whose deadline passed or whose site went silent as dropped. */
function sweepDropouts(ctx: CoordinatorContext, tasks: db.TaskRow[]): void {
  const silentMs = ctx.config.heartbeatIntervalMs * ctx.config.heartbeatMisses;
  for (const t of tasks) {
    const task = db.getTask(ctx.db, t.task_id)!;
    if (TERMINAL.includes(task.state)) continue;
    const site = db.getSite(ctx.db, task.site_id);
    let reason: string | null = null;
    if (Date.now() > Date.parse(task.deadline)) reason = `deadline ${task.deadline} passed`;
    else if (site && Date.now() - Date.parse(site.last_seen_at) > silentMs && Date.now() - Date.parse(task.created_at) > silentMs) {
      reason = `no heartbeat for ${Math.round((Date.now() - Date.parse(site.last_seen_at)) / 1000)} s`;
    }
    if (reason) {
      db.setTaskState(ctx.db, task.task_id, "dropped", reason);
      ctx.logger.warn({ siteId: task.site_id, taskId: task.task_id, reason }, "site dropped out");
      void ctx.events.publish({ type: "site.dropout", runId: task.run_id, step: task.step, siteId: task.site_id, taskId: task.task_id, reason });
    }
  }
}

async function waitForRound(ctx: CoordinatorContext, tasks: db.TaskRow[]): Promise<void> {
  for (;;) {
    sweepDropouts(ctx, tasks);
    const open = tasks.filter((t) => !TERMINAL.includes(db.getTask(ctx.db, t.task_id)!.state));
    if (open.length === 0 || ctx.signal.aborted) return;
    await ctx.hub.waitForAnyTaskFinished(open.map((t) => t.task_id), Math.min(1000, ctx.config.heartbeatIntervalMs), ctx.signal);
  }
}

function assignTasks(ctx: CoordinatorContext, strategy: Strategy, run: db.RunRow, step: StepSpec, round: number, baseVersion: string, sites: SiteInfo[], hyper: Hyper, isLastStep: boolean): db.TaskRow[] {
  const plan = strategy.configureRound({ step, round, sites, hyper, replayPool: replayPool(ctx, run.run_id), seed: run.seed, isLastStep });
  const deadline = new Date(Date.now() + ctx.config.taskDeadlineMs).toISOString();
  const options = JSON.parse(run.options_json) as Record<string, string>;
  for (const t of plan.tasks) {
    const spec: TaskSpecJson = {
      hyper: t.hyper,
      exemplarIds: t.exemplarIds,
      exemplarsWanted: t.exemplarsWanted,
      exemplarSampler: t.exemplarSampler,
      shots: t.shots,
      shotsSelection: t.shotsSelection,
      deltaEncoding: options.delta_encoding ?? "fp32",
      strategy: strategy.name,
    };
    const taskId = randomUUID();
    db.insertTask(ctx.db, { task_id: taskId, run_id: run.run_id, step: step.index, round, site_id: t.siteId, state: "assigned", spec_json: JSON.stringify(spec), base_version: baseVersion, deadline });
    void ctx.events.publish({ type: "task.assigned", runId: run.run_id, step: step.index, siteId: t.siteId, taskId, baseVersion, deadline });
    ctx.hub.notifyTaskAssigned(t.siteId);
  }
  return db.tasksForRound(ctx.db, run.run_id, step.index, round);
}

function collect(ctx: CoordinatorContext, tasks: db.TaskRow[]): { updates: SiteUpdate[]; failures: SiteFailure[] } {
  const updates: SiteUpdate[] = [];
  const failures: SiteFailure[] = [];
  for (const t of tasks) {
    const task = db.getTask(ctx.db, t.task_id)!;
    const accepted = db.acceptedUpdatesForTask(ctx.db, task.task_id)[0];
    if (task.state === "done" && accepted) {
      updates.push({ siteId: task.site_id, delta: ctx.models.decodeDelta(ctx.blobs.get(accepted.update_id)), numSamples: accepted.num_samples });
    } else {
      failures.push({ siteId: task.site_id, reason: task.reason ?? task.state });
    }
  }
  return { updates, failures };
}

async function ensureBase(ctx: CoordinatorContext, run: db.RunRow, sets: EvalSet[]): Promise<string> {
  let base = run.base_version;
  if (!base) {
    const hyper = JSON.parse(run.hyper_json) as Hyper;
    const bytes = await ctx.models.createBase(run.model, run.seed, hyper.inputSize ? { inputSize: hyper.inputSize } : {});
    base = ctx.blobs.put(bytes);
    db.insertVersion(ctx.db, { version: base, parent: null, run_id: run.run_id, strategy: "base", step: -1, sites_json: "[]", config_hash: ctx.models.inspect(bytes).configHash, size: bytes.length });
    db.updateRun(ctx.db, run.run_id, { base_version: base });
  }
  if (!db.evaluationsForRun(ctx.db, run.run_id).some((e) => e.step === -1)) await evaluateVersion(ctx, run.run_id, -1, base, sets);
  return base;
}

/**
 * The only loop over steps and rounds. It resumes from SQLite: closed steps and rounds are kept,
 * open tasks stay assigned so agents pick them up again after a coordinator restart.
 */
export async function executeRun(ctx: CoordinatorContext, runId: string): Promise<void> {
  const run = db.getRun(ctx.db, runId)!;
  const log = ctx.logger.child({ runId, run: run.name });
  const strategy = createStrategy(run.strategy, JSON.parse(run.options_json) as Record<string, string>);
  const hyper = JSON.parse(run.hyper_json) as Hyper;
  const sites = siteInfos(ctx, JSON.parse(run.sites_json) as string[]);
  const steps = strategy.planSteps(sites, hyper);
  const sets = evalSets(ctx, steps);
  db.updateRun(ctx.db, runId, { state: "running" });
  try {
    const base = await ensureBase(ctx, run, sets);
    let current = base;
    for (const step of steps) {
      const existing = db.listSteps(ctx.db, runId).find((s) => s.idx === step.index);
      if (existing?.state === "closed" && existing.version) {
        current = existing.version;
        continue;
      }
      const parent = step.parent === "previous" ? current : base;
      db.upsertStep(ctx.db, { run_id: runId, idx: step.index, state: "training", domain: step.domain, sites_json: JSON.stringify(step.sites), parent_version: parent, version: null });
      void ctx.events.publish({ type: "step.opened", runId, step: step.index, baseVersion: parent, sites: step.sites });
      log.info({ step: step.index, domain: step.domain, sites: step.sites, rounds: step.rounds }, "step opened");
      const done = db.roundsOfStep(ctx.db, runId, step.index);
      let roundBase = done.length ? done[done.length - 1].version : parent;
      const dropouts = new Set<string>();
      for (let round = done.length; round < step.rounds; round++) {
        if (ctx.signal.aborted) return;
        const stepSites = sites.filter((s) => step.sites.includes(s.siteId));
        let tasks = db.tasksForRound(ctx.db, runId, step.index, round);
        if (tasks.length === 0) tasks = assignTasks(ctx, strategy, run, step, round, roundBase, stepSites, hyper, step.index === steps.length - 1);
        await waitForRound(ctx, tasks);
        if (ctx.signal.aborted) return;
        const { updates, failures } = collect(ctx, tasks);
        for (const f of failures) dropouts.add(f.siteId);
        if (failures.length && run.dropout_policy === "fail") {
          throw new MedfclError(ErrorCode.Aborted, `step ${step.index} round ${round}: ${failures.map((f) => `${f.siteId}: ${f.reason}`).join("; ")} (dropout policy "fail")`);
        }
        const result = strategy.aggregate(step, round, updates, failures);
        let version = roundBase;
        if (result) {
          const bytes = ctx.models.applyDelta(ctx.blobs.get(roundBase), result.delta, { parent: roundBase, createdBy: `${strategy.name}:step${step.index}:round${round}`, step: step.index });
          version = ctx.blobs.put(bytes);
          db.insertVersion(ctx.db, { version, parent: roundBase, run_id: runId, strategy: strategy.name, step: step.index, sites_json: JSON.stringify(updates.map((u) => u.siteId)), config_hash: ctx.models.inspect(bytes).configHash, size: bytes.length });
        } else {
          log.warn({ step: step.index, round, failures }, "no usable update in this round; the model is kept");
        }
        db.closeRound(ctx.db, runId, step.index, round, version, result?.metrics ?? {});
        roundBase = version;
      }
      db.updateStep(ctx.db, runId, step.index, { state: "evaluating", dropouts_json: JSON.stringify([...dropouts]) });
      const ap = await evaluateVersion(ctx, runId, step.index, roundBase, sets);
      void ctx.events.publish({ type: "evaluated", runId, step: step.index, version: roundBase, ap });
      db.updateStep(ctx.db, runId, step.index, { state: "closed", version: roundBase, closed_at: db.nowIso() });
      db.updateRun(ctx.db, runId, { current_version: roundBase });
      void ctx.events.publish({ type: "step.closed", runId, step: step.index, version: roundBase });
      writeRunArtifacts(ctx, runId);
      current = roundBase;
    }
    db.updateRun(ctx.db, runId, { state: "completed" });
    writeRunArtifacts(ctx, runId);
    void ctx.events.publish({ type: "run.completed", runId, finalVersion: current });
    log.info({ dir: ctx.runsDir }, "run completed");
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    db.updateRun(ctx.db, runId, { state: "failed", error: reason });
    for (const t of db.tasksOfRun(ctx.db, runId)) if (!TERMINAL.includes(t.state)) db.setTaskState(ctx.db, t.task_id, "cancelled", "run failed");
    writeRunArtifacts(ctx, runId);
    void ctx.events.publish({ type: "run.failed", runId, reason });
    log.error({ err: reason }, "run failed");
  }
}
