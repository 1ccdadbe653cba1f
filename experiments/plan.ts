import type { ExperimentKind, PlannedRun } from "./types.js";

export interface PlanOptions {
  shots: number;
  buffer: number;
  mix: number;
  beyond: boolean;
}

/**
 * The coordinator runs an experiment needs, in the order they run on one coordinator and one set
 * of agents. Labels are the paradigm names of paradigms.json (and the R.json subfolders).
 */
export function experimentPlan(kind: ExperimentKind, o: PlanOptions): PlannedRun[] {
  const specialized: PlannedRun = { label: "specialized", strategy: "specialized", options: {}, beyond: false };
  if (kind !== "paradigms") return [specialized];
  const shots = String(o.shots);
  const replay = { buffer: String(o.buffer), mix: String(o.mix) };
  const runs: PlannedRun[] = [
    specialized,
    { label: "joint", strategy: "joint", options: {}, beyond: false },
    { label: `joint-${shots}`, strategy: "joint", options: { shots }, beyond: false },
    { label: "sequential", strategy: "sequential", options: {}, beyond: false },
    { label: "rehearsal", strategy: "rehearsal", options: { ...replay, sampler: "random", site_sampler: "random" }, beyond: false },
  ];
  if (o.beyond) {
    runs.push(
      { label: "rehearsal-class-balanced", strategy: "rehearsal", options: { ...replay, sampler: "class-balanced", site_sampler: "random" }, beyond: true },
      { label: "rehearsal-herding", strategy: "rehearsal", options: { ...replay, sampler: "random", site_sampler: "herding" }, beyond: true },
      { label: `joint-${shots}-kcenter`, strategy: "joint", options: { shots, shots_selection: "kcenter" }, beyond: true },
    );
  }
  return runs;
}

/**
 * Splits a plan into groups that each get a fresh coordinator + agents. A site's privacy filter
 * refuses to export an image it exported before (its near-duplicate check spans runs), so a second
 * rehearsal run on the same agents would get no exemplars and silently become sequential. Every
 * run that asks sites for exemplars after the first therefore gets its own agents.
 */
export function planSessions(plan: PlannedRun[]): PlannedRun[][] {
  const sessions: PlannedRun[][] = [[]];
  let exemplarRunInFirst = false;
  for (const p of plan) {
    if (p.strategy !== "rehearsal") sessions[0].push(p);
    else if (!exemplarRunInFirst) {
      sessions[0].push(p);
      exemplarRunInFirst = true;
    } else sessions.push([p]);
  }
  return sessions;
}

/** Which runs are continual (their R rows are steps over domains; BWT and Fig. 5 apply). */
export function isContinual(strategy: string): boolean {
  return strategy === "sequential" || strategy === "rehearsal";
}
