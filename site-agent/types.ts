import type { DatasetManifest } from "../generated/medfcl/v1/DatasetManifest.js";
import type { EvalTask__Output } from "../generated/medfcl/v1/EvalTask.js";
import type { SiteEvaluationResult } from "../generated/medfcl/v1/SiteEvaluationResult.js";
import type { TestSetManifest } from "../generated/medfcl/v1/TestSetManifest.js";
import type { ExemplarInfo } from "../generated/medfcl/v1/ExemplarInfo.js";
import type { Metric } from "../generated/medfcl/v1/Metric.js";
import type { TensorSpec } from "../generated/medfcl/v1/TensorSpec.js";
import type { TrainTask__Output } from "../generated/medfcl/v1/TrainTask.js";
import type { PulledExemplar } from "./client.js";

export interface LocalTrainResult {
  /** Encoded delta (safetensors). */
  delta: Buffer;
  manifest: TensorSpec[];
  encoding: string;
  numSamples: number;
  metrics: Metric[];
}

export interface ExemplarOffer {
  info: ExemplarInfo;
  bytes: Buffer;
}

export interface TaskProgress {
  fraction: number;
  loss?: number;
  imagesPerSec?: number;
}

/**
 * Everything the agent does with local data, behind one seam: the protocol loop in agent.ts never
 * touches pixels or tensors, so it can be tested against a real coordinator with a light workload.
 */
export interface SiteWork {
  manifest(): DatasetManifest;
  /** Notes for the coordinator once registered (e.g. images left out at start-up, by name). */
  notes?(): string[];
  /** Throws TaskRefusedError when the task would break a local rule (privacy budget). */
  checkTask(task: TrainTask__Output): void;
  train(task: TrainTask__Output, baseCheckpoint: Buffer, replay: PulledExemplar[], onProgress: (p: TaskProgress) => void, signal: AbortSignal): Promise<LocalTrainResult>;
  /** Exemplars that passed the privacy pipeline, ready to push. */
  offerExemplars(task: TrainTask__Output, count: number): Promise<ExemplarOffer[]>;
  /** The held-out test split this site evaluates on (counts and categories only), or null without one. */
  testSet?(): TestSetManifest | null;
  /**
   * Evaluates the task's model version on the site's test split; `model` downloads it. Returns
   * COCO statistics only. Throws TaskRefusedError when a local rule forbids it (split too small).
   */
  evaluate?(task: EvalTask__Output, model: () => Promise<Buffer>, signal: AbortSignal): Promise<SiteEvaluationResult>;
}
