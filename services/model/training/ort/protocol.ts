import type { TensorMap } from "../../../tensors/index.js";
import type { TrainBatch } from "../schedule.js";
import type { ModelConfig, TrainOptions } from "../../core/types.js";
import type { SessionOptions } from "./runtime.js";
import type { StepResult } from "./stepper.js";

/** The plain-data part of TrainOptions the worker needs (callbacks, signals and datasets stay in the main thread). */
export type WorkerTrainOptions = Pick<TrainOptions, "batchSize" | "lr" | "textLr" | "weightDecay" | "freezeStages" | "gradClip" | "seed" | "warmupSteps" | "emaDecay">;

export type ToWorker =
  | { type: "init"; cfg: ModelConfig; weights: TensorMap; opts: WorkerTrainOptions; session: SessionOptions }
  | { type: "step"; id: number; batch: TrainBatch; totalSteps: number }
  | { type: "weights"; id: number };

export interface WorkerErrorData {
  name: string;
  message: string;
  code?: string;
  details?: Record<string, unknown>;
}

export type FromWorker =
  | { type: "ready" }
  /** `busyMs`: how long the worker spent in the step (for telling idle gaps from slow steps). */
  | { type: "step"; id: number; result: StepResult; busyMs: number }
  | { type: "weights"; id: number; weights: TensorMap }
  | { type: "error"; id: number; error: WorkerErrorData };
