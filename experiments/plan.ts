import { ErrorCode } from "../services/errors/index.js";
import { ExperimentError } from "./errors.js";
import { findStrategy, strategyInfo } from "../coordinator/strategies/index.js";
import type { ExperimentKind, PlannedRun } from "./types.js";

export interface PlanOptions {
  shots: number;
  buffer: number;
  mix: number;
  beyond: boolean;
  /** Run only these paradigm labels (undefined = all); unknown labels are refused. */
  only?: string[];
  /** Local epochs per step, and how many domains train: they size the long federated joint run. */
  epochs?: number;
  trainDomains?: number;
}

/** Labels of the runs given sequential's budget: their number needs the suite's domain count. */
const BUDGET_LABEL = /-\d+-(rounds|epochs)$/;

/**
 * Refuses unknown `--only` labels before any data is generated or read. Budget labels
 * (`joint-15-rounds`) pass here and are checked by experimentPlan once the domains are known.
 */
export function checkOnlyLabels(kind: ExperimentKind, o: PlanOptions): void {
  if (o.only) experimentPlan(kind, { ...o, only: o.only.filter((l) => !BUDGET_LABEL.test(l)) });
}

/**
 * The coordinator runs an experiment needs, in the order they run on one coordinator and one set
 * of agents. Labels are the paradigm names of paradigms.json (and the R.json subfolders).
 */
export function experimentPlan(kind: ExperimentKind, o: PlanOptions): PlannedRun[] {
  const all = fullPlan(kind, o);
  if (o.only === undefined) return all;
  const known = new Set(all.map((r) => r.label));
  const unknown = o.only.filter((l) => !known.has(l));
  if (unknown.length > 0) {
    throw new ExperimentError(`--only: unknown paradigm ${unknown.map((l) => `"${l}"`).join(", ")}; this plan has ${[...known].join(", ")}`, { code: ErrorCode.InvalidArgument });
  }
  return all.filter((r) => o.only!.includes(r.label));
}

function fullPlan(kind: ExperimentKind, o: PlanOptions): PlannedRun[] {
  const specialized: PlannedRun = { label: "specialized", strategy: "specialized", options: {}, beyond: false };
  if (kind !== "paradigms") return [specialized];
  const shots = String(o.shots);
  const replay = { buffer: String(o.buffer), mix: String(o.mix) };
  const runs: PlannedRun[] = [
    specialized,
    { label: "joint", strategy: "joint", options: {}, beyond: false },
    { label: `joint-${shots}`, strategy: "joint", options: { shots }, beyond: false },
    // The paper's joint is centralised: the same 3 epochs over the pooled data of all domains, the
    // optimiser-step budget of sequential; the federated rows above average non-IID updates.
    // One round: a single site needs no synchronisation, so it trains like one specialized model.
    { label: "joint-central", strategy: "joint", options: { rounds: "1" }, beyond: false, pooled: {} },
    { label: `joint-central-${shots}`, strategy: "joint", options: { rounds: "1" }, beyond: false, pooled: { shots: o.shots } },
    { label: "sequential", strategy: "sequential", options: {}, beyond: false },
    { label: "rehearsal", strategy: "rehearsal", options: { ...replay, sampler: "random", site_sampler: "random" }, beyond: false },
  ];
  if (o.beyond) {
    runs.push(
      { label: "rehearsal-class-balanced", strategy: "rehearsal", options: { ...replay, sampler: "class-balanced", site_sampler: "random" }, beyond: true },
      { label: "rehearsal-herding", strategy: "rehearsal", options: { ...replay, sampler: "random", site_sampler: "herding" }, beyond: true },
      { label: `joint-${shots}-kcenter`, strategy: "joint", options: { shots, shots_selection: "kcenter" }, beyond: true },
    );
    // The budget of sequential (epochs × domains of optimiser passes) for the paradigms that get
    // less by default: federated joint as one-epoch rounds, and each specialized model. The
    // few-shot selection question is asked again at that budget, where joint learns at all.
    const budget = (o.epochs ?? 0) * (o.trainDomains ?? 0);
    if (budget > 0) {
      const long = { rounds: String(budget), local_epochs: "1" };
      runs.push(
        { label: `joint-${budget}-rounds`, strategy: "joint", options: long, beyond: true },
        { label: `specialized-${budget}-epochs`, strategy: "specialized", options: { local_epochs: String(budget) }, beyond: true },
        { label: `joint-${shots}-${budget}-rounds`, strategy: "joint", options: { shots, ...long }, beyond: true },
        { label: `joint-${shots}-kcenter-${budget}-rounds`, strategy: "joint", options: { shots, shots_selection: "kcenter", ...long }, beyond: true },
      );
    }
  }
  return runs;
}

/** Runs that share one coordinator + agents; `dir` is the session's folder under the seed's. */
export interface PlannedSession {
  dir: string;
  runs: PlannedRun[];
}

/**
 * Splits a plan into groups that each get a fresh coordinator + agents. A site's privacy state
 * spans runs: what it exported counts against its exemplar budget and its near-duplicate check, and
 * only byte-identical re-offers are free. So that one rehearsal run's exports cannot change what
 * another may export, every run that asks sites for exemplars after the first gets its own agents,
 * and so does every pooled run (its one site holds other data). Folder names stay stable when runs
 * are added, so finished runs are found again on resume.
 */
export function planSessions(plan: PlannedRun[]): PlannedSession[] {
  const sessions: PlannedSession[] = [{ dir: "", runs: [] }];
  let exemplarRunInFirst = false;
  for (const p of plan) {
    if (p.pooled) continue;
    if (!strategyInfo(p.strategy).traits.exportsExemplars) sessions[0].runs.push(p);
    else if (!exemplarRunInFirst) {
      sessions[0].runs.push(p);
      exemplarRunInFirst = true;
    } else sessions.push({ dir: `session-${sessions.length + 1}`, runs: [p] });
  }
  for (const p of plan) if (p.pooled) sessions.push({ dir: p.label, runs: [p] });
  return sessions.filter((s) => s.runs.length > 0);
}

/** Which runs are continual (their R rows are steps over domains; BWT and Fig. 5 apply). No for a name no strategy has. */
export function isContinual(strategy: string): boolean {
  return findStrategy(strategy)?.traits.continual ?? false;
}

/** Which runs train one model per domain from the base (their R is a cross-domain matrix; Table 1). No for a name no strategy has. */
export function hasPerDomainModels(strategy: string): boolean {
  return findStrategy(strategy)?.traits.perDomainModels ?? false;
}
