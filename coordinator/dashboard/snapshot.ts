import type { MedfclEvent } from "../../services/events/index.js";
import type { CoordinatorContext } from "../context.js";
import * as db from "../db.js";
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
}

/** Same count the run.created event announces: the strategy's planned steps for that many sites. */
export function plannedSteps(strategy: string, sites: number): number {
  // A stored run may name a strategy no longer registered; one step per site is the common plan.
  return findStrategy(strategy)?.traits.stepCount(sites) ?? sites;
}

export function runView(ctx: CoordinatorContext, run: db.RunRow): RunView {
  const steps = db.listSteps(ctx.db, run.run_id);
  const evals = db.evaluationsForRun(ctx.db, run.run_id);
  const byStep: Record<string, Record<string, number>> = {};
  for (const e of evals) (byStep[String(e.step)] ??= {})[e.domain] = e.ap;
  const evalDomains = Object.keys(ctx.config.evalSets).length ? Object.keys(ctx.config.evalSets) : [...new Set(evals.map((e) => e.domain))];
  const updates = ctx.db.prepare("SELECT COUNT(*) AS n FROM updates WHERE run_id = ? AND accepted = 1").get(run.run_id) as { n: number };
  const sites = JSON.parse(run.sites_json) as string[];
  return {
    runId: run.run_id,
    name: run.name,
    strategy: run.strategy,
    state: run.state,
    sites,
    plannedSteps: plannedSteps(run.strategy, sites.length),
    createdAt: run.created_at,
    updatedAt: run.updated_at,
    error: run.error,
    baseVersion: run.base_version,
    currentVersion: run.current_version,
    steps: steps.map((s) => ({
      index: s.idx,
      domain: s.domain,
      state: s.state,
      sites: JSON.parse(s.sites_json) as string[],
      version: s.version,
      dropouts: JSON.parse(s.dropouts_json) as string[],
      roundsDone: db.roundsOfStep(ctx.db, run.run_id, s.idx).length,
    })),
    domains: orderDomains(
      steps.map((s) => s.domain),
      evalDomains,
    ),
    evals: byStep,
    lineage: db.versionsForRun(ctx.db, run.run_id).map((v) => ({ version: v.version, parent: v.parent, step: v.step, strategy: v.strategy, sites: JSON.parse(v.sites_json) as string[] })),
    updates: {
      received: updates.n,
      rejected: db.rejectedUpdatesForRun(ctx.db, run.run_id).map((u) => ({ siteId: u.site_id, taskId: u.task_id, reason: u.reason ?? "" })),
    },
  };
}

export function dashboardSnapshot(ctx: CoordinatorContext, feed: DashboardFeed, opts: { runs?: number; events?: number } = {}): DashboardSnapshot {
  // Read the seq first: an event that lands while the snapshot is built is then sent again over
  // SSE, and the page applies events idempotently, rather than being missed.
  const lastSeq = feed.lastSeq;
  const silentMs = ctx.config.heartbeatIntervalMs * ctx.config.heartbeatMisses;
  const live = feed.siteLive();
  const sites = db.listSites(ctx.db).map((s): SiteView => {
    const l = live.get(s.site_id);
    return {
      siteId: s.site_id,
      domain: s.domain,
      task: s.task,
      backend: s.backend,
      agentVersion: s.agent_version,
      registeredAt: s.registered_at,
      lastSeenAt: s.last_seen_at,
      alive: Date.now() - Date.parse(s.last_seen_at) <= silentMs,
      state: l?.state ?? "unknown",
      taskId: l?.taskId ?? null,
      runId: l?.runId ?? null,
      progress: l?.progress ?? null,
      loss: l?.loss ?? null,
      lastHeartbeatAt: l?.lastHeartbeatAt ?? null,
    };
  });
  // Newest first (db.listRuns pages oldest first, for the admin API).
  const rows = ctx.db.prepare("SELECT * FROM runs ORDER BY created_at DESC, run_id DESC LIMIT ?").all(opts.runs ?? 10) as db.RunRow[];
  const runs = rows.map((r) => runView(ctx, r));
  return {
    version: ctx.version,
    serverTime: new Date().toISOString(),
    heartbeatIntervalMs: ctx.config.heartbeatIntervalMs,
    lastSeq,
    sites,
    runs,
    events: feed.tail(opts.events ?? 50),
  };
}
