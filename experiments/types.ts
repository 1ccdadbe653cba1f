import type { CrossMatrix, ParadigmTable } from "../services/eval/index.js";
import type { Logger } from "../services/log/index.js";

/** The paper's experiments: Tables 1/2 (cross-domain, cross-task) and Tables 3/4 (paradigms). */
export const EXPERIMENT_KINDS = ["cross-domain", "cross-task", "paradigms"] as const;
export type ExperimentKind = (typeof EXPERIMENT_KINDS)[number];

export type SuiteName = "polyp" | "tasks";
export type Scale = "tiny" | "small" | "full";

export interface ExperimentOptions {
  kind: ExperimentKind;
  suite: SuiteName;
  out: string;
  scale: Scale;
  /** First seed; `repeat` runs seed, seed+1, … */
  seed: number;
  repeat: number;
  /** A suite.json folder of real (or pre-made) data; synthesized per seed when absent. */
  dataRoot?: string;
  /** The synthetic generator's version (without dataRoot); default SYNTH_GENERATOR_VERSION. */
  generator?: number;
  epochs: number;
  maxSteps: number;
  lr: number;
  batchSize: number;
  /** A model family (services/model/families; `medfcl model list`): the registry's default is the pretrained yolox-nano. */
  model: string;
  baseWeights?: string;
  /** Input side in pixels (0 = the model's default). */
  inputSize?: number;
  /** Few-shot joint training: images per site (the paper's 100). */
  shots: number;
  /** Replay buffer size (the paper's 100). */
  buffer: number;
  mix: number;
  /** Also run the comparisons the paper leaves open (replay samplers, k-center few-shot). */
  beyond: boolean;
  /** Only these paradigm labels (the plan's row names); undefined = the whole plan. */
  only?: string[];
  /**
   * Train on these domains of the --data-root suite, in this order (e.g. the paper's Table 4
   * sequence); every other domain is evaluated as test-only. Undefined: the suite's own order.
   */
  sequence?: string[];
  /** Set by the run with `sequence`: the user's --data-root, while dataRoot names the ordered view of it. */
  sequenceSource?: string;
  insecure: boolean;
  logger: Logger;
}

/** One coordinator run in an experiment. `paradigm` is its row in paradigms.json. */
export interface PlannedRun {
  label: string;
  strategy: string;
  options: Record<string, string>;
  /** Beyond the paper (rows after the paper's own). */
  beyond: boolean;
  /**
   * Centralised baseline: one site holds the pooled training data of every domain (with `shots`,
   * that many random images per domain), the paper's joint training. Runs on its own agents.
   */
  pooled?: { shots?: number };
}

/** What one run left: R (AP %, rows = steps) and the base model's AP per domain. */
/** Exemplars a run asked its sites for and received (run.json's `replay`). */
export interface ReplayCounts {
  requested: number;
  received: number;
}

export interface RunResult {
  label: string;
  R: { steps: string[]; domains: string[]; ap: (number | null)[][] };
  base: Record<string, number>;
  seconds: number;
  /** Absent in runs written before run.json recorded it. */
  replay?: ReplayCounts;
}

/** A cell aggregated over seeds: mean and sample standard deviation (null with one seed). */
export interface MeanStd {
  mean: number | null;
  std: number | null;
  n: number;
}

export interface SeedTables {
  seed: number;
  seconds: number;
  paradigms?: ParadigmTable;
  matrix?: CrossMatrix;
  runs: { label: string; seconds: number; replay?: ReplayCounts }[];
}

export interface ExperimentSummary {
  kind: ExperimentKind;
  suite: SuiteName;
  scale: Scale;
  seeds: number[];
  wallSeconds: number;
  /** Mean over seeds (what paradigms.json / matrix.json hold). */
  paradigms?: ParadigmTable;
  matrix?: CrossMatrix;
  files: string[];
}
