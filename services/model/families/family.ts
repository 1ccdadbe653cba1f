import type { tf } from "../tfjs/backend.js";
import type { ParamLookup, RawOutputs } from "../tfjs/model.js";
import type { ExportBuilder } from "../onnx/builder.js";
import type { ParamSpec } from "../core/params.js";
import type { TensorMap } from "../../tensors/index.js";
import type { ModelConfig } from "../core/types.js";

/** The published weights a family starts from: one pinned file, checked by sha256. */
export interface PublishedWeights {
  /** Pinned download: a commit-addressed URL, so the bytes behind it cannot change. */
  url: string;
  sha256: string;
  bytes: number;
  file: string;
  license: string;
  provenance: string;
}

/**
 * How a family is trained when a run, `simulate`, `experiment` or `train` names no value. Every
 * caller takes these from the registry; none keeps a copy.
 */
export interface TrainingDefaults {
  /** AdamW learning rate of the image side, fusion and heads. */
  lr: number;
  /** The text encoder's learning rate as a fraction of `lr` (its own lr group). */
  textLrRatio: number;
  weightDecay: number;
  batchSize: number;
  /** Local epochs per task (per `medfcl train`). */
  epochs: number;
  /** Bottom image-encoder stages kept frozen (2: the stem and the first stage). */
  freezeStages: number;
  /** Global-norm gradient clip; 0 disables. */
  gradClip: number;
  /**
   * Linear warm-up steps of `medfcl train` from this family's fresh weights; absent, training warms
   * up by its automatic rule (min(50, steps/10)). A TrainTask carries no warm-up, so sites always
   * use the rule.
   */
  warmupSteps?: number;
}

/** What a new model of a family starts from. */
export interface CreateModelOptions {
  /** Seeds every tensor that is not imported. */
  seed: number;
  /** Input side in pixels, instead of the family's own. */
  inputSize?: number;
  /** The family's published weights (verified bytes), for a family that has them. */
  baseWeights?: Uint8Array;
}

/**
 * A model family as the registry holds it: everything that differs between architectures is
 * declared here, so no other code branches on which model it runs. Its training graph is its ONNX
 * export (`exportGraph`) with the shared losses, gradients and AdamW built on top
 * (training/ort/train-graph.ts); `config.quality` picks the third output's loss.
 */
export interface ModelFamily {
  /** The name runs, checkpoints (`ModelConfig.size`) and commands use. */
  name: string;
  /** One line for help texts. */
  summary: string;
  /** Published weights the family is imported from (`medfcl model fetch NAME`); absent: random initialisation. */
  baseWeights?: PublishedWeights;
  training: TrainingDefaults;
  /** A new model: its config and initial tensors. Throws when base weights are needed and not given. */
  create(opts: CreateModelOptions): { config: ModelConfig; weights: TensorMap };
  /** The config alone, for a family whose architecture does not come from weights; undefined otherwise. */
  config?(overrides: Partial<ModelConfig>): ModelConfig;
  /** Checks what only this family requires of a config (ModelOptionError naming the field). */
  validate(cfg: ModelConfig): void;
  /** Every tensor of the model, in canonical order (checkpoint, delta and ONNX initializer names). */
  paramSpecs(cfg: ModelConfig): ParamSpec[];
  /** The tfjs forward pass: images [B,S,S,3] in [0,1], token ids and mask [B,M] → raw outputs. */
  forward(cfg: ModelConfig, p: ParamLookup, images: tf.Tensor4D, ids: tf.Tensor2D, mask: tf.Tensor2D): RawOutputs;
  /** The deepest image features [B,h,w,C] (global-pooled into replay samplers' embeddings). */
  embed(cfg: ModelConfig, p: ParamLookup, images: tf.Tensor4D): tf.Tensor4D;
  /** Channels of `embed`'s output. */
  embedChannels(cfg: ModelConfig): number;
  /** Writes the inference graph into the ONNX builder: ONNX_IO inputs to ONNX_IO outputs. */
  exportGraph(b: ExportBuilder, cfg: ModelConfig): void;
}
