import type { TensorMap } from "../../services/tensors/index.js";
import type { ReplayItem } from "../../services/replay/index.js";
import type { Hyper } from "../domain.js";

/** What the coordinator knows about a registered site. */
export interface SiteInfo {
  siteId: string;
  domain: string;
  numImages: number;
}

/** Local training settings sent with a task: one definition, in the coordinator's domain. */
export type { Hyper };

/** One step of a run: which sites train, on what domain, from which parent model. */
export interface StepSpec {
  index: number;
  /** Domain the step trains on, or "joint" when all sites train together. */
  domain: string;
  sites: string[];
  rounds: number;
  /** "previous": continue from the last step's model (continual); "base": restart from the run's base model. */
  parent: "previous" | "base";
}

export interface RoundContext {
  step: StepSpec;
  round: number;
  sites: SiteInfo[];
  hyper: Hyper;
  /** Every exemplar stored for this run so far (the strategy picks the buffer from it). */
  replayPool: ReplayItem[];
  seed: number;
  isLastStep: boolean;
}

export interface TaskPlan {
  siteId: string;
  hyper: Hyper;
  exemplarIds: string[];
  exemplarsWanted: number;
  exemplarSampler: string;
  /** Few-shot limit on training images; 0 = all. */
  shots: number;
  /** How the site picks its `shots` images: "random" or "kcenter" (on embeddings). */
  shotsSelection: string;
}

export interface RoundPlan {
  tasks: TaskPlan[];
}

export interface SiteUpdate {
  siteId: string;
  delta: TensorMap;
  numSamples: number;
}

export interface SiteFailure {
  siteId: string;
  reason: string;
}

/** `delta` is applied to the round's base model; `null` means keep the base (nothing usable arrived). */
export interface AggregateResult {
  delta: TensorMap;
  metrics: Record<string, number>;
}

/**
 * One paradigm. Strategies are pure: no I/O, no clocks. The round runner is the only loop and
 * knows nothing of specific strategies.
 */
export interface Strategy {
  readonly name: string;
  planSteps(sites: SiteInfo[], hyper: Hyper): StepSpec[];
  configureRound(ctx: RoundContext): RoundPlan;
  aggregate(step: StepSpec, round: number, updates: SiteUpdate[], failures: SiteFailure[]): AggregateResult | null;
}

/** Strategy options as they arrive: strings from the wire or `--option k=v`, absent ones defaulted. */
export type StrategyOptions = Record<string, string>;

/** Every option of a strategy, typed, defaults included: what a run stores when it is created. */
export type ResolvedOptions = Record<string, number | string>;
