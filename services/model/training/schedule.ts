// What both training engines share (tfjs in train.ts, onnxruntime in ort/): the lr schedule,
// the EMA ramp, which parameters train, and the packed batch. No tfjs and no onnxruntime here, so the
// ort worker and the tfjs trainer import it without importing each other.
import type { ParamSpec } from "../core/params.js";
import type { SampleTargetInput } from "./targets.js";
import type { ParamGroup, TrainOptions } from "../core/types.js";

const FREEZE_ORDER: ParamGroup[] = ["stem", "stage1", "stage2", "stage3", "stage4"];

/** The EMA decay after `updates` steps: ramped in (TensorFlow's num_updates rule) so early weights fade fast. */
export function emaDecayAt(decay: number, updates: number): number {
  return Math.min(decay, (1 + updates) / (10 + updates));
}

/** Linear warm-up then cosine decay to 10 % (shared by both training engines). */
export function lrFactor(opts: Pick<TrainOptions, "warmupSteps">, step: number, totalSteps: number): number {
  const warm = opts.warmupSteps ?? 0;
  if (step < warm) return (step + 1) / warm;
  const p = totalSteps > warm ? (step - warm) / (totalSteps - warm) : 1;
  return 0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, p)));
}

/** The parameters training updates: all but the `freezeStages` lowest image stages. */
export function trainableSpecs(specs: ParamSpec[], freezeStages: number): ParamSpec[] {
  const frozen = new Set(FREEZE_ORDER.slice(0, freezeStages));
  return specs.filter((s) => !frozen.has(s.group));
}

export interface TrainBatch {
  images: Float32Array;
  ids: Int32Array;
  mask: Float32Array;
  targets: SampleTargetInput[];
  size: number;
}
