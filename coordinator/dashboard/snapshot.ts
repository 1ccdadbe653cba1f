import type { MedfclEvent } from "../../services/events/index.js";
import type { CoordinatorContext } from "../context.js";
import type { Run } from "../domain.js";
import type { StorageStatus } from "../storage-guard.js";
import * as store from "../store/index.js";
import { orderDomains } from "../run-artifacts.js";
import { findStrategy } from "../strategies/index.js";
import type { DashboardFeed, SiteLive } from "./feed.js";

export interface SiteView extends SiteLive {
  domain: string;
  task: string;
  backend: string;
  agentVersion: string;
  registeredAt: string;
  lastSeenAt: string;
  /** Heard from within heartbeatIntervalMs × heartbeatMisses. */
  alive: boolean;
}

export interface StepView {
  index: number;
  domain: string;
  state: string;
  sites: string[];
  version: string | null;
  dropouts: string[];
  roundsDone: number;
}

export interface RunView {
  runId: string;
  name: string;
  strategy: string;
  state: string;
  sites: string[];
  plannedSteps: number;
  createdAt: string;
  updatedAt: string;
  error: string | null;
  baseVersion: string | null;
  currentVersion: string | null;
  steps: StepView[];
  /** Column order of R: the trained domains in step order, then the test-only ones. */
  domains: string[];
  /** AP (%) by step ("-1" is the base model) and domain. */
  evals: Record<string, Record<string, number>>;
  lineage: { version: string; parent: string | null; step: number; strategy: string; sites: string[] }[];
  updates: { received: number; rejected: { siteId: string; taskId: string; reason: string }[] };
}

/** Everything the page needs at load; events keep it current afterwards. */
export interface DashboardSnapshot {
  version: string;
  serverTime: string;
  heartbeatIntervalMs: number;
  /** The seq of the last event folded in: the page asks the SSE stream for what comes after. */
  lastSeq: number;
  sites: SiteView[];
  runs: RunView[];
  events: { seq: number; event: MedfclEvent }[];
  /** Whether the state dir takes writes (uploads and new runs wait while it does not), and why. */
  storage: StorageStatus;
}

/** Same count the run.created event announces: the strategy's planned steps for that many sites. */
export function plannedSteps(strategy: string, sites: number): number {
  // A stored run may name a strategy no longer registered; one step per site is the common plan.
  return findStrategy(strategy)?.traits.stepCount(sites) ?? sites;
}

export function runView(ctx: CoordinatorContext, run: Run): RunView {
  const steps = store.listSteps(ctx.db, run.runId);
  const evals = store.evaluationsForRun(ctx.db, run.runId);
  const byStep: Record<string, Record<string, number>> = {};
  for (const e of evals) (byStep[String(e.step)] ??= {})[e.domain] = e.ap;
  const evalDomains = Object.keys(ctx.config.evalSets).length ? Object.keys(ctx.config.evalSets) : [...new Set(evals.map((e) => e.domain))];
  const received = store.acceptedUpdateCount(ctx.db, run.runId);
  const sites = run.sites;
  return {
    runId: run.runId,
    name: run.name,
    strategy: run.strategy,
    state: run.state,
    sites,
    plannedSteps: plannedSteps(run.strategy, sites.length),
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
    error: run.error,
    baseVersion: run.baseVersion,
    currentVersion: run.currentVersion,
    steps: steps.map((s) => ({
      index: s.index,
      domain: s.domain,
      state: s.state,
      sites: s.sites,
      version: s.version,
      dropouts: s.dropouts,
      roundsDone: store.roundsOfStep(ctx.db, run.runId, s.index).length,
    })),
    domains: orderDomains(
      steps.map((s) => s.domain),
      evalDomains,
    ),
    evals: byStep,
    lineage: store.versionsForRun(ctx.db, run.runId).map((v) => ({ version: v.version, parent: v.parent, step: v.step, strategy: v.strategy, sites: v.sites })),
    updates: {
      received,
      rejected: store.rejectedUpdatesForRun(ctx.db, run.runId).map((u) => ({ siteId: u.siteId, taskId: u.taskId, reason: u.reason ?? "" })),
    },
  };
}

export function dashboardSnapshot(ctx: CoordinatorContext, feed: DashboardFeed, opts: { runs?: number; events?: number } = {}): DashboardSnapshot {
  // Read the seq first: an event that lands while the snapshot is built is then sent again over
  // SSE, and the page applies events idempotently, rather than being missed.
  const lastSeq = feed.lastSeq;
  const silentMs = ctx.config.heartbeatIntervalMs * ctx.config.heartbeatMisses;
  const live = feed.siteLive();
  const sites = store.listSites(ctx.db).map((s): SiteView => {
    const l = live.get(s.siteId);
    return {
      siteId: s.siteId,
      domain: s.domain,
      task: s.task,
      backend: s.backend,
      agentVersion: s.agentVersion,
      registeredAt: s.registeredAt,
      lastSeenAt: ctx.liveness.lastSeenAt(s),
      alive: Date.now() - Date.parse(ctx.liveness.lastSeenAt(s)) <= silentMs,
      state: l?.state ?? "unknown",
      taskId: l?.taskId ?? null,
      runId: l?.runId ?? null,
      progress: l?.progress ?? null,
      loss: l?.loss ?? null,
      lastHeartbeatAt: l?.lastHeartbeatAt ?? null,
    };
  });
  const runs = store.latestRuns(ctx.db, opts.runs ?? 10).map((r) => runView(ctx, r));
  return {
    version: ctx.version,
    serverTime: new Date().toISOString(),
    heartbeatIntervalMs: ctx.config.heartbeatIntervalMs,
    lastSeq,
    sites,
    runs,
    events: feed.tail(opts.events ?? 50),
    storage: ctx.storage.status(),
  };
}
