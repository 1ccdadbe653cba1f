import type { AugmentOptions, CocoDataset } from "../../data/index.js";
import type { TensorMap } from "../../tensors/index.js";
import type { ImportedGraph } from "../onnx/import.js";

/** Which optimizer group and freeze unit a tensor belongs to. */
export type ParamGroup = "stem" | "stage1" | "stage2" | "stage3" | "stage4" | "fpn" | "fusion" | "head" | "text";

/** One detection level of an imported detector: which graph tensors feed medfcl's grounded head. */
export interface BackboneLevel {
  stride: number;
  /** Features the class branch ends with (input of the source class conv): the region features O. */
  clsFeat: string;
  clsChannels: number;
  /** Raw box regression (x, y, log w, log h per YOLOX's decoupled head). */
  reg: string;
  /** Objectness logit (before its sigmoid). */
  obj: string;
}

/**
 * A pretrained detector imported from ONNX as the image side of the grounded model: the graph
 * (pruned to what the grounded head needs), its levels, and which freeze group each tensor is in.
 */
export interface ImportedBackbone {
  name: string;
  /** sha256 of the ONNX file the weights came from (provenance; the graph itself is stored here). */
  sourceSha256: string;
  /** Pixel convention of the source model: YOLOX takes BGR 0..255. */
  inputScale: number;
  inputBgr: boolean;
  graph: ImportedGraph;
  levels: BackboneLevel[];
  /** Parameter name → shape and freeze/optimizer group. */
  params: Record<string, { shape: number[]; group: ParamGroup }>;
  /** The deepest backbone feature map (global-pooled for replay samplers' embeddings). */
  embed: string;
  embedChannels: number;
}

/** A model family's name (services/model/families: the registry decides which exist). */
export type ModelSize = string;

/**
 * Architecture of the grounded detector. Everything that changes a tensor's name or shape is here,
 * so `configHash` identifies which checkpoints fit which model.
 */
export interface ModelConfig {
  /** The model family (historically "size"; checkpoints keep the key). */
  size: ModelSize;
  /** Square input side in pixels (letterboxed); a multiple of the largest stride. */
  inputSize: number;
  /** Output channels of the stride-2 stem (stage 0). */
  stemChannels: number;
  /** Output channels of stages 1..4 (strides 4, 8, 16, 32). */
  stageChannels: number[];
  /** Extra stride-1 3×3 convs after each stage's stride-2 conv. */
  stageBlocks: number[];
  /** FPN levels as log2(stride): 3 → P3 (stride 8) ... 5 → P5 (stride 32). */
  levels: number[];
  /** Width of FPN, head towers, region and token features (d in S = O·Pᵀ/√d). */
  dModel: number;
  /** 3×3 convs in each head tower (classification/alignment and box). */
  headConvs: number;
  /** Text encoder width, layers, heads, feed-forward width, max tokens (incl. [CLS]/[SEP]). */
  textDim: number;
  textLayers: number;
  textHeads: number;
  textFfn: number;
  maxTokens: number;
  /** Hash buckets for words outside the committed vocabulary. */
  oovBuckets: number;
  /** Single-layer bidirectional image↔text cross-attention before the heads (GLIP's deep fusion). */
  fusion: boolean;
  /** Max regression distance (px) assigned to each level: level i takes (bounds[i], bounds[i+1]]. */
  scaleBounds: number[];
  /** Center sampling radius, in strides. */
  centerRadius: number;
  /** Initial foreground probability for the alignment bias. */
  priorProb: number;
  /**
   * A pretrained detector imported from ONNX as the image encoder, neck and box/objectness head
   * (GLIP's recipe: keep the detector, replace its class logits by region–word alignment). Absent
   * for the from-scratch sizes, whose image side the stage/FPN fields above describe.
   */
  backbone?: ImportedBackbone;
  /**
   * What the third output scores: "centerness" (FCOS; BCE at positives) or "objectness" (YOLOX;
   * BCE at every location against the positive mask). Absent means centerness.
   */
  quality?: "centerness" | "objectness";
}

export interface TrainProgress {
  step: number;
  totalSteps: number;
  loss: number;
  imagesPerSec: number;
  /**
   * Seconds the engine has spent inside steps so far, where it runs them on another thread (ort):
   * against the wall time it tells a starved engine (data loading too slow) from a slow step.
   */
  engineBusySeconds?: number;
}

/**
 * A share of each batch drawn from a second dataset (the replay buffer). Each replay image is
 * captioned by its own `caption_categories` when the buffer sets them (see ImageInfo).
 */
export interface ReplayOptions {
  dataset: CocoDataset;
  ratio: number;
}

/** Which engine runs training: tfjs autodiff (the reference) or the onnxruntime training graph. */
export type TrainEngine = "tfjs" | "ort";
export const TRAIN_ENGINES: readonly TrainEngine[] = ["tfjs", "ort"];
/** What `trainDetector`, `medfcl train` and the site agent use when no engine is named. */
export const DEFAULT_TRAIN_ENGINE: TrainEngine = "ort";

export interface TrainOptions {
  epochs?: number;
  steps?: number;
  batchSize: number;
  /** Adam lr for image encoder, fusion and heads. */
  lr: number;
  /** Adam lr for the text encoder. */
  textLr: number;
  /** Decoupled (AdamW) weight decay, applied to weights (not biases, norms or embeddings). */
  weightDecay: number;
  /** Freeze stem + the first (freezeStages − 1) stages: 2 freezes the stem and stage 1. */
  freezeStages: number;
  /** Global gradient norm clip (0 disables). */
  gradClip: number;
  seed: number;
  augment?: AugmentOptions | false;
  replay?: ReplayOptions;
  /** Linear warm-up steps. */
  warmupSteps?: number;
  /**
   * Exponential moving average of the trained weights (YOLOX and most detectors keep one): after
   * step t the average moves by 1 − min(emaDecay, (1 + t) / (10 + t)), and the average, not the
   * last step's weights, is what training returns (and what epoch hooks see). 0 or absent: off.
   */
  emaDecay?: number;
  onProgress?: (p: TrainProgress) => void;
  /**
   * Called after each full epoch (before the next starts) with the weights as they are then, e.g.
   * to evaluate a learning curve on held-out data. Training waits for it.
   */
  onEpochEnd?: (epoch: number, weights: () => Promise<TensorMap>) => Promise<void>;
  signal?: AbortSignal;
  /** Default DEFAULT_TRAIN_ENGINE (see docs/model.md, "Training on onnxruntime"). */
  engine?: TrainEngine;
  /** onnxruntime intra-op threads (engine "ort"); default the core count. */
  threads?: number;
  /** onnxruntime execution provider (engine "ort"): "cpu" (default) or "cuda" where installed. */
  executionProvider?: "cpu" | "cuda";
}

export interface TrainResult {
  losses: number[];
  steps: number;
  imagesPerSec: number;
}

export interface PredictOptions {
  scoreThreshold?: number;
  topK?: number;
  /** IoU threshold of the per-class NMS. */
  nmsIou?: number;
  /** Images per forward pass. */
  batchSize?: number;
}

export type { TensorMap };
