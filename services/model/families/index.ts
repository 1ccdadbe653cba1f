// The model families: the only code that knows model names. Everything else asks the registry for
// a family's architecture, forward pass, export, training defaults and base weights.
import type { tf } from "../tfjs/backend.js";
import type { ParamLookup, RawOutputs } from "../tfjs/model.js";
import { initWeightsFromSpecs, type ParamSpec } from "../core/params.js";
import { parseModelConfig } from "../core/config.js";
import { DEFAULT_EMA_DECAY } from "../core/constants.js";
import { ModelOptionError } from "../core/errors.js";
import type { ModelConfig, TrainOptions } from "../core/types.js";
import type { TensorMap } from "../../tensors/index.js";
import type { CreateModelOptions, TrainingDefaults } from "./family.js";
import { familyOf, modelFamily, registerModelFamily } from "./registry.js";
import { nano, small } from "./scratch.js";
import { yoloxNano } from "./yolox-nano.js";

export type { CreateModelOptions, ModelFamily, PublishedWeights, TrainingDefaults } from "./family.js";
export { familyOf, findModelFamily, modelFamily, modelFamilyNames, registerModelFamily } from "./registry.js";

registerModelFamily(nano);
registerModelFamily(small);
registerModelFamily(yoloxNano);

/** What a run, `simulate`, `experiment`, `train` and the demo use when they name no model. */
export const DEFAULT_MODEL_FAMILY = yoloxNano.name;

/** Whether the family starts from published weights (which `medfcl model fetch` gets). */
export function needsBaseWeights(name: string): boolean {
  return modelFamily(name).baseWeights !== undefined;
}

/**
 * The config of a family whose architecture does not come from weights, with overrides, checked.
 * A family imported from weights has no config without them: use `createModel`.
 */
export function modelConfig(name: string, overrides: Partial<ModelConfig> = {}): ModelConfig {
  const family = modelFamily(name);
  if (!family.config) throw new ModelOptionError("model", `"${name}" is imported from its published weights: create it with createModel (medfcl model fetch ${name})`);
  return checkModelConfig(family.config(overrides));
}

/** A config's generic checks (parseModelConfig) plus its family's own. */
export function checkModelConfig(cfg: ModelConfig): ModelConfig {
  parseModelConfig(cfg);
  familyOf(cfg).validate(cfg);
  return cfg;
}

/** A new model of the family: config and initial tensors (imported ones for a family with base weights). */
export function createModel(name: string, opts: CreateModelOptions): { config: ModelConfig; weights: TensorMap } {
  const made = modelFamily(name).create(opts);
  checkModelConfig(made.config);
  return made;
}

/** The config's family's forward pass (tfjs). */
export function forward(cfg: ModelConfig, p: ParamLookup, images: tf.Tensor4D, ids: tf.Tensor2D, mask: tf.Tensor2D): RawOutputs {
  return familyOf(cfg).forward(cfg, p, images, ids, mask);
}

/** Every tensor of the model, in canonical order. Names are the checkpoint, delta and ONNX initializer names. */
export function paramSpecs(cfg: ModelConfig): ParamSpec[] {
  return familyOf(cfg).paramSpecs(cfg);
}

/** Seeded initial weights of a config's every tensor (each from its own stream: seed and name). */
export function initWeights(cfg: ModelConfig, seed: number): TensorMap {
  return initWeightsFromSpecs(paramSpecs(cfg), seed);
}

/** The family's training defaults as TrainOptions (text lr = lr · textLrRatio). */
export function trainOptionsFor(name: string): TrainOptions {
  const t: TrainingDefaults = modelFamily(name).training;
  return {
    epochs: t.epochs,
    batchSize: t.batchSize,
    lr: t.lr,
    textLr: t.lr * t.textLrRatio,
    weightDecay: t.weightDecay,
    freezeStages: t.freezeStages,
    gradClip: t.gradClip,
    warmupSteps: t.warmupSteps,
    emaDecay: DEFAULT_EMA_DECAY,
    seed: 0,
    augment: false,
  };
}
