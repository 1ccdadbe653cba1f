import { randomUUID } from "node:crypto";
import { ErrorCode, MedfclError } from "../services/errors/index.js";
import type { Logger } from "../services/log/index.js";
import type { ReplayItem } from "../services/replay/index.js";
import type { CoordinatorContext } from "./context.js";
import { isEvalTaskOpen, isTaskTerminal, SHOTS_SELECTIONS, SITE_SAMPLERS, type Hyper, type Run, type ShotsSelection, type SiteSampler, type Task, type TaskSpec } from "./domain.js";
import type { EvalSet } from "./model-ops.js";
import { orderDomains, replaySummary, writeRunArtifacts } from "./run-artifacts.js";
import { StorageRefusedError } from "./storage-guard.js";
import { cancelOpenEvalTasks, disagreement, evaluateAtSites } from "./site-evaluation.js";
import { aggregateSecureRound, planSecureRound, tickSecureRound } from "./secure-aggregation.js";
import * as store from "./store/index.js";
import { createStrategy, type SiteFailure, type SiteInfo, type SiteUpdate, type StepSpec, type Strategy } from "./strategies/index.js";

function siteInfos(ctx: CoordinatorContext, siteIds: string[]): SiteInfo[] {
  return siteIds.map((siteId) => {
    const site = store.getSite(ctx.db, siteId);
    if (!site) throw new MedfclError(ErrorCode.FailedPrecondition, `site ${siteId} is not registered`, { details: { siteId } });
    return { siteId, domain: site.domain, numImages: site.manifest.num_images };
  });
}

function evalSets(ctx: CoordinatorContext, steps: StepSpec[]): EvalSet[] {
  const all = ctx.config.evalSets;
  return orderDomains(steps.map((s) => s.domain), Object.keys(all)).map((domain) => ({ domain, dir: all[domain] }));
}

function replayPool(ctx: CoordinatorContext, runId: string): ReplayItem[] {
  return store.exemplarsForRun(ctx.db, runId).map((e, order) => ({
    id: e.exemplarId,
    domain: e.domain,
    categoryIds: e.boxes.map((b) => b.category_id),
    order,
  }));
}

/**
 * Fills R's row of a model version. Central: the coordinator's own test sets. Sites: each site's
 * result on its own split. Both: the two, which must agree exactly; a domain only one side holds
 * comes from that side.
 */
async function evaluateVersion(ctx: CoordinatorContext, run: Run, step: number, version: string, sets: EvalSet[]): Promise<Record<string, number>> {
  const runId = run.runId;
  const started = Date.now();
  const ap: Record<string, number> = {};
  const { results: central, failed } = run.evaluation === "sites" ? { results: [], failed: [] } : await ctx.central.evaluate({ runId, step, version }, sets);
  for (const f of failed) ctx.logger.warn({ runId, step, domain: f.domain, reason: f.reason }, "cell of R left empty: central evaluation failed");
  for (const r of central) {
    store.upsertEvaluation(ctx.db, { runId, step, domain: r.domain, version, ap: r.ap, ap50: r.ap50, stats: r.stats, perCategoryAp: r.perCategoryAp });
    ap[r.domain] = r.ap;
  }
  if (run.evaluation !== "central") {
    const atSites = await evaluateAtSites(ctx, run, step, version);
    for (const { siteId, evaluation: r } of atSites.results) {
      const same = central.find((c) => c.domain === r.domain);
      if (same) {
        const differs = disagreement(step, same, r, siteId);
        if (differs) ctx.logger.error({ runId, step, domain: r.domain, siteId }, `evaluation at the site differs from the central one: ${differs}`);
        continue;
      }
      store.upsertEvaluation(ctx.db, { runId, step, domain: r.domain, version, ap: r.ap, ap50: r.ap50, stats: r.stats, perCategoryAp: r.perCategoryAp, source: `site:${siteId}` });
      ap[r.domain] = r.ap;
    }
    for (const m of atSites.missing) ctx.logger.warn({ runId, step, domain: m.domain, siteId: m.siteId, reason: m.reason }, "cell of R left empty: the site did not evaluate");
  }
  if (central.length || run.evaluation !== "central") {
    ctx.logger.info({ runId, step, version: version.slice(0, 12), ap, evaluation: run.evaluation, ms: Date.now() - started }, step < 0 ? "base model evaluated" : "step evaluated");
  }
  return ap;
}

/** Marks open tasks whose deadline passed or whose site went silent as dropped. */
function sweepDropouts(ctx: CoordinatorContext, tasks: Task[]): void {
  const silentMs = ctx.config.heartbeatIntervalMs * ctx.config.heartbeatMisses;
  for (const t of tasks) {
    const task = store.getTask(ctx.db, t.taskId)!;
    if (isTaskTerminal(task.state)) continue;
    const site = store.getSite(ctx.db, task.siteId);
    let reason: string | null = null;
    if (Date.now() > Date.parse(task.deadline)) reason = `deadline ${task.deadline} passed`;
    else if (site && Date.now() - Date.parse(ctx.liveness.lastSeenAt(site)) > silentMs && Date.now() - Date.parse(task.createdAt) > silentMs) {
      reason = `no heartbeat for ${Math.round((Date.now() - Date.parse(ctx.liveness.lastSeenAt(site))) / 1000)} s`;
    }
    if (reason) {
      store.setTaskState(ctx.db, task.taskId, "dropped", reason);
      ctx.logger.warn({ siteId: task.siteId, taskId: task.taskId, reason }, "site dropped out");
      void ctx.events.publish({ type: "site.dropout", runId: task.runId, step: task.step, siteId: task.siteId, taskId: task.taskId, reason });
    }
  }
}

/**
 * Holds the run while the state dir refuses writes (disk-full, disk-error), and says so: a log line
 * and `run.paused`, then `run.resumed` with how long it waited. The tasks' deadlines move by the
 * pause, so a site whose upload was refused is not counted out for it, and the liveness gathered
 * meanwhile is written before any dropout is judged.
 */
async function whileRefused(ctx: CoordinatorContext, log: Logger, runId: string, step: number, phase: string): Promise<void> {
  if (ctx.storage.writable || ctx.signal.aborted) return;
  const { state, reason } = ctx.storage.status();
  const started = Date.now();
  log.warn({ step, phase, state, reason }, "run paused: the state dir refuses writes; it goes on by itself once there is room");
  void ctx.events.publish({ type: "run.paused", runId, step, phase, reason: reason ?? state });
  await ctx.storage.waitWritable(ctx.signal);
  if (ctx.signal.aborted) return;
  const pausedMs = Date.now() - started;
  ctx.liveness.flush();
  store.extendOpenTaskDeadlines(ctx.db, runId, pausedMs);
  log.info({ step, phase, pausedMs }, "run resumed");
  void ctx.events.publish({ type: "run.resumed", runId, step, phase, reason: reason ?? state, pausedMs });
}

async function waitForRound(ctx: CoordinatorContext, log: Logger, tasks: Task[], tick: () => void = () => undefined): Promise<void> {
  for (;;) {
    await whileRefused(ctx, log, tasks[0].runId, tasks[0].step, "waiting for the sites' updates");
    sweepDropouts(ctx, tasks);
    tick();
    const open = tasks.filter((t) => !isTaskTerminal(store.getTask(ctx.db, t.taskId)!.state));
    if (open.length === 0 || ctx.signal.aborted) return;
    await ctx.hub.waitForAnyTaskFinished(open.map((t) => t.taskId), Math.min(1000, ctx.config.heartbeatIntervalMs), ctx.signal);
  }
}

/** A strategy's sampler or shots name as the closed set the wire carries; an unknown one is a strategy bug. */
function closedName<T extends string>(names: readonly T[], value: string, what: string, strategy: string): T {
  if ((names as readonly string[]).includes(value)) return value as T;
  throw new MedfclError(ErrorCode.Internal, `strategy ${strategy} planned ${what} "${value}", which is not one of ${names.join(", ")}`, { details: { strategy, [what]: value } });
}

function assignTasks(ctx: CoordinatorContext, strategy: Strategy, run: Run, step: StepSpec, round: number, baseVersion: string, sites: SiteInfo[], hyper: Hyper, isLastStep: boolean): Task[] {
  const plan = strategy.configureRound({ step, round, sites, hyper, replayPool: replayPool(ctx, run.runId), seed: run.seed, isLastStep });
  const deadline = new Date(Date.now() + ctx.config.taskDeadlineMs).toISOString();
  if (run.secureAggregation) {
    // Each site's FedAvg weight comes from the images it declared (capped by shots), as plain FedAvg's num_samples would.
    const samples = Object.fromEntries(plan.tasks.map((t) => [t.siteId, Math.min(sites.find((x) => x.siteId === t.siteId)?.numImages ?? 1, t.shots || Number.MAX_SAFE_INTEGER)]));
    planSecureRound(ctx, run, step.index, round, samples);
  }
  for (const t of plan.tasks) {
    const spec: TaskSpec = {
      hyper: t.hyper,
      exemplarIds: t.exemplarIds,
      exemplarsWanted: t.exemplarsWanted,
      exemplarSampler: closedName<SiteSampler>(SITE_SAMPLERS, t.exemplarSampler, "exemplarSampler", strategy.name),
      shots: t.shots,
      shotsSelection: closedName<ShotsSelection>(SHOTS_SELECTIONS, t.shotsSelection, "shotsSelection", strategy.name),
      // A run-level setting: the strategies neither see nor validate it.
      deltaEncoding: run.deltaEncoding,
      strategy: strategy.name,
    };
    const taskId = randomUUID();
    store.insertTask(ctx.db, { taskId, runId: run.runId, step: step.index, round, siteId: t.siteId, state: "assigned", spec, baseVersion, deadline });
    void ctx.events.publish({ type: "task.assigned", runId: run.runId, step: step.index, siteId: t.siteId, taskId, baseVersion, deadline });
    ctx.hub.notifyTaskAssigned(t.siteId);
  }
  return store.tasksForRound(ctx.db, run.runId, step.index, round);
}

function collect(ctx: CoordinatorContext, tasks: Task[]): { updates: SiteUpdate[]; failures: SiteFailure[] } {
  const updates: SiteUpdate[] = [];
  const failures: SiteFailure[] = [];
  for (const t of tasks) {
    const task = store.getTask(ctx.db, t.taskId)!;
    const accepted = store.acceptedUpdatesForTask(ctx.db, task.taskId)[0];
    if (task.state === "done" && accepted) {
      updates.push({ siteId: task.siteId, delta: ctx.models.decodeDelta(ctx.blobs.get(accepted.updateId)), numSamples: accepted.numSamples });
    } else {
      failures.push({ siteId: task.siteId, reason: task.reason ?? task.state });
    }
  }
  return { updates, failures };
}

/** The round's sites that sent no accepted update, with why. */
function failuresOf(ctx: CoordinatorContext, tasks: Task[]): SiteFailure[] {
  return tasks.map((t) => store.getTask(ctx.db, t.taskId)!).filter((t) => t.state !== "done").map((t) => ({ siteId: t.siteId, reason: t.reason ?? t.state }));
}

/** A round that asked its sites for exemplars and got none leaves the replay buffer as it was: say so. */
function warnIfNoExemplars(ctx: CoordinatorContext, log: Logger, runId: string, step: number, tasks: Task[], failures: SiteFailure[]): void {
  const asking = tasks.filter((t) => t.spec.exemplarsWanted > 0 && !failures.some((f) => f.siteId === t.siteId));
  if (asking.length === 0) return;
  const got = replaySummary(
    asking.map((t) => ({ taskId: t.taskId, step, exemplarsWanted: t.spec.exemplarsWanted })),
    store.exemplarsForRun(ctx.db, runId).map((e) => e.taskId),
  );
  if (got.received > 0) return;
  log.warn(
    { step, sites: asking.map((t) => t.siteId), requested: got.requested },
    "no exemplar arrived for the replay buffer: the sites hold no records marked shareable, or the privacy filter refused them all; later steps train without replay (mark shareable data with `medfcl data split --shareable`)",
  );
}

/** Whether a resumed run already has its base model's row (central results, or every site's answer). */
function baseEvaluated(ctx: CoordinatorContext, run: Run): boolean {
  if (run.evaluation === "central") return store.evaluationsForRun(ctx.db, run.runId).some((e) => e.step === -1);
  const tasks = store.evalTasksForStep(ctx.db, run.runId, -1);
  return tasks.length > 0 && tasks.every((t) => !isEvalTaskOpen(t.state));
}

async function ensureBase(ctx: CoordinatorContext, run: Run, sets: EvalSet[]): Promise<string> {
  let base = store.getRun(ctx.db, run.runId)?.baseVersion ?? run.baseVersion;
  if (!base) {
    const bytes = await ctx.models.createBase(run.model, run.seed, run.hyper.inputSize ? { inputSize: run.hyper.inputSize } : {});
    const version = ctx.blobs.put(bytes);
    // The version row and the run's pointer to it are one commit: a base created again after a
    // failed commit (its bytes carry a creation time) never leaves a second base in the lineage.
    ctx.db.transaction(() => {
      store.insertVersion(ctx.db, { version, parent: null, runId: run.runId, strategy: "base", step: -1, sites: [], configHash: ctx.models.inspect(bytes).configHash, size: bytes.length });
      store.updateRun(ctx.db, run.runId, { baseVersion: version });
    })();
    base = version;
  }
  if (!baseEvaluated(ctx, run)) await evaluateVersion(ctx, run, -1, base, sets);
  return base;
}

/**
 * The only loop over steps and rounds. It resumes from SQLite: closed steps and rounds are kept,
 * open tasks stay assigned so agents pick them up again after a coordinator restart. A write the
 * state dir refuses (a full disk) pauses the run instead of failing it; once there is room the
 * loop resumes from what was committed, as after a restart.
 */
export async function executeRun(ctx: CoordinatorContext, runId: string): Promise<void> {
  const run = store.getRun(ctx.db, runId)!;
  const log = ctx.logger.child({ runId, run: run.name });
  let phase = "starting";
  for (;;) {
    try {
      await whileRefused(ctx, log, runId, -1, phase);
      await runSteps(ctx, run, log);
      return;
    } catch (err) {
      if (ctx.signal.aborted) return;
      if (!(ctx.storage.refusal(err, `a write of run ${run.name}`) instanceof StorageRefusedError)) {
        await recordFailure(ctx, log, runId, err);
        return;
      }
      phase = `after a write failed (${(err as Error).message.slice(0, 200)})`;
    }
  }
}

async function runSteps(ctx: CoordinatorContext, run: Run, log: Logger): Promise<void> {
  const runId = run.runId;
  const strategy = createStrategy(run.strategy, run.options);
  const hyper = run.hyper;
  const sites = siteInfos(ctx, run.sites);
  const steps = strategy.planSteps(sites, hyper);
  const sets = evalSets(ctx, steps);
  store.updateRun(ctx.db, runId, { state: "running" });
  const base = await ensureBase(ctx, run, sets);
  let current = base;
  for (const step of steps) {
    const existing = store.listSteps(ctx.db, runId).find((s) => s.index === step.index);
    if (existing?.state === "closed" && existing.version) {
      current = existing.version;
      continue;
    }
    const parent = step.parent === "previous" ? current : base;
    if (!existing) {
      store.upsertStep(ctx.db, { runId, index: step.index, state: "training", domain: step.domain, sites: step.sites, parentVersion: parent, version: null });
      // Once per step: a step resumed after a restart or a pause was opened already.
      void ctx.events.publish({ type: "step.opened", runId, step: step.index, baseVersion: parent, sites: step.sites });
      log.info({ step: step.index, domain: step.domain, sites: step.sites, rounds: step.rounds }, "step opened");
    } else {
      log.info({ step: step.index, state: existing.state }, "step resumed");
    }
    const done = store.roundsOfStep(ctx.db, runId, step.index);
    let roundBase = done.length ? done[done.length - 1].version : parent;
    const dropouts = new Set<string>(existing?.dropouts ?? []);
    for (let round = done.length; round < step.rounds; round++) {
      if (ctx.signal.aborted) return;
      const stepSites = sites.filter((s) => step.sites.includes(s.siteId));
      let tasks = store.tasksForRound(ctx.db, runId, step.index, round);
      if (tasks.length === 0) {
        await whileRefused(ctx, log, runId, step.index, "assigning tasks");
        if (round > 0) store.updateStep(ctx.db, runId, step.index, { state: "training" });
        tasks = assignTasks(ctx, strategy, run, step, round, roundBase, stepSites, hyper, step.index === steps.length - 1);
      }
      await waitForRound(ctx, log, tasks, () => tickSecureRound(ctx, run, step.index, round));
      if (ctx.signal.aborted) return;
      const { updates, failures } = run.secureAggregation ? { updates: [], failures: failuresOf(ctx, tasks) } : collect(ctx, tasks);
      for (const f of failures) dropouts.add(f.siteId);
      warnIfNoExemplars(ctx, log, runId, step.index, tasks, failures);
      if (failures.length && run.dropoutPolicy === "fail") {
        throw new MedfclError(ErrorCode.Aborted, `step ${step.index} round ${round}: ${failures.map((f) => `${f.siteId}: ${f.reason}`).join("; ")} (dropout policy "fail")`);
      }
      await whileRefused(ctx, log, runId, step.index, "aggregating");
      store.updateStep(ctx.db, runId, step.index, { state: "aggregating", dropouts: [...dropouts] });
      // Secure rounds: the coordinator holds only masked vectors, so FedAvg is the unmasked sum's
      // weighted mean (the strategy's aggregate never sees a single site's update).
      const result = run.secureAggregation ? await aggregateSecureRound(ctx, run, step.index, round, ctx.models.layoutOf(ctx.blobs.pathOf(roundBase))) : strategy.aggregate(step, round, updates, failures);
      let version = roundBase;
      let bytes: Buffer | null = null;
      let contributors: string[] = [];
      if (result) {
        bytes = ctx.models.applyDelta(ctx.blobs.get(roundBase), result.delta, { parent: roundBase, createdBy: `${strategy.name}:step${step.index}:round${round}`, step: step.index });
        version = ctx.blobs.put(bytes);
        contributors = run.secureAggregation ? tasks.map((t) => store.getTask(ctx.db, t.taskId)!).filter((t) => t.state === "done").map((t) => t.siteId) : updates.map((u) => u.siteId);
      } else {
        log.warn({ step: step.index, round, failures }, "no usable update in this round; the model is kept");
      }
      // The version and the round that made it are one commit. A round aggregated again after a
      // failed commit makes other bytes (they carry a creation time): committed apart, the first
      // attempt's version would stay in the lineage as an orphan beside the real one.
      ctx.db.transaction(() => {
        if (bytes) store.insertVersion(ctx.db, { version, parent: roundBase, runId, strategy: strategy.name, step: step.index, sites: contributors, configHash: ctx.models.inspect(bytes).configHash, size: bytes.length });
        store.closeRound(ctx.db, runId, step.index, round, version, result?.metrics ?? {});
      })();
      roundBase = version;
    }
    await whileRefused(ctx, log, runId, step.index, "evaluating");
    store.updateStep(ctx.db, runId, step.index, { state: "evaluating", dropouts: [...dropouts] });
    const ap = await evaluateVersion(ctx, run, step.index, roundBase, sets);
    void ctx.events.publish({ type: "evaluated", runId, step: step.index, version: roundBase, ap });
    ctx.db.transaction(() => {
      store.updateStep(ctx.db, runId, step.index, { state: "closed", version: roundBase, closedAt: store.nowIso() });
      store.updateRun(ctx.db, runId, { currentVersion: roundBase });
    })();
    void ctx.events.publish({ type: "step.closed", runId, step: step.index, version: roundBase });
    writeRunArtifacts(ctx, runId);
    current = roundBase;
  }
  store.updateRun(ctx.db, runId, { state: "completed" });
  writeRunArtifacts(ctx, runId);
  void ctx.events.publish({ type: "run.completed", runId, finalVersion: current });
  log.info({ dir: ctx.runsDir }, "run completed");
}

/**
 * Marks the run and its unfinished step failed and cancels its open tasks. A full disk must not
 * lose this record either (it once threw from here and ended the process): the record waits for
 * room and is written then.
 */
async function recordFailure(ctx: CoordinatorContext, log: Logger, runId: string, err: unknown): Promise<void> {
  const reason = err instanceof Error ? err.message : String(err);
  for (;;) {
    try {
      ctx.db.transaction(() => {
        store.updateRun(ctx.db, runId, { state: "failed", error: reason });
        for (const s of store.listSteps(ctx.db, runId)) if (s.state !== "closed" && s.state !== "failed") store.updateStep(ctx.db, runId, s.index, { state: "failed", closedAt: store.nowIso() });
        for (const t of store.tasksOfRun(ctx.db, runId)) if (!isTaskTerminal(t.state)) store.setTaskState(ctx.db, t.taskId, "cancelled", "run failed");
      })();
      cancelOpenEvalTasks(ctx, runId);
      writeRunArtifacts(ctx, runId);
      break;
    } catch (recordErr) {
      if (ctx.signal.aborted || !(ctx.storage.refusal(recordErr, "recording a failed run") instanceof StorageRefusedError)) {
        log.error({ err: reason, recordErr: (recordErr as Error).message }, "run failed, and the failure could not be recorded");
        return;
      }
      await whileRefused(ctx, log, runId, -1, "recording the run's failure");
    }
  }
  void ctx.events.publish({ type: "run.failed", runId, reason });
  log.error({ err: reason }, "run failed");
}
