import { createHash } from "node:crypto";
import { ModelOptionError } from "./errors.js";
import type { ModelConfig, ModelSize } from "./types.js";
import type { ImportedBackbone } from "./yolox.js";

const PRESETS: Record<ScratchSize, ModelConfig> = {
  // CPU-sized: trains in minutes on 2 cores at 128 px.
  nano: {
    size: "nano",
    inputSize: 128,
    stemChannels: 16,
    stageChannels: [24, 32, 48, 64],
    stageBlocks: [0, 1, 1, 1],
    levels: [3, 4, 5],
    dModel: 32,
    headConvs: 1,
    textDim: 32,
    textLayers: 1,
    textHeads: 2,
    textFfn: 64,
    maxTokens: 32,
    oovBuckets: 64,
    fusion: false,
    scaleBounds: [0, 32, 64, 1e8],
    centerRadius: 1.5,
    priorProb: 0.01,
  },
  // GPU-sized.
  small: {
    size: "small",
    inputSize: 320,
    stemChannels: 32,
    stageChannels: [48, 96, 160, 256],
    stageBlocks: [1, 2, 2, 1],
    levels: [3, 4, 5],
    dModel: 96,
    headConvs: 2,
    textDim: 96,
    textLayers: 2,
    textHeads: 4,
    textFfn: 192,
    maxTokens: 64,
    oovBuckets: 256,
    fusion: true,
    scaleBounds: [0, 64, 128, 1e8],
    centerRadius: 1.5,
    priorProb: 0.01,
  },
};

type ScratchSize = "nano" | "small";
/** Architectures built from random initialisation. */
export const MODEL_SIZES: readonly ScratchSize[] = ["nano", "small"];
/** Every model name a run or a command accepts: the from-scratch sizes and the pretrained bases. */
export const MODEL_NAMES: readonly ModelSize[] = ["nano", "small", "yolox-nano"];

export function isScratchSize(v: string): v is ScratchSize {
  return (MODEL_SIZES as readonly string[]).includes(v);
}

export function modelConfig(size: ModelSize, overrides: Partial<ModelConfig> = {}): ModelConfig {
  if (!isScratchSize(size)) {
    throw new ModelOptionError("model", `"${String(size)}" is ${MODEL_NAMES.includes(size) ? "a pretrained base: import it with importBaseModel (medfcl model fetch)" : `not a model; use ${MODEL_NAMES.join(", ")}`}`);
  }
  return parseModelConfig({ ...structuredClone(PRESETS[size]), ...overrides, size });
}

/**
 * The grounded detector on an imported pretrained backbone. 256 px keeps a CPU fine-tuning step
 * around a second (Kvasir-SEG is published at 256×256); the text side is nano's, twice as wide,
 * with room for the long descriptive prompts of multi-class tasks.
 */
export function groundedConfig(backbone: ImportedBackbone, overrides: Partial<ModelConfig> = {}): ModelConfig {
  const strides = backbone.levels.map((l) => l.stride);
  const base: ModelConfig = {
    size: backbone.name as ModelSize,
    inputSize: 256,
    stemChannels: 0,
    stageChannels: [0, 0, 0, backbone.embedChannels],
    stageBlocks: [0, 0, 0, 0],
    levels: strides.map((s) => Math.log2(s)),
    dModel: 64,
    headConvs: 0,
    textDim: 64,
    textLayers: 1,
    textHeads: 2,
    textFfn: 128,
    maxTokens: 64,
    oovBuckets: 64,
    fusion: false,
    scaleBounds: [0, 64, 128, 1e8],
    centerRadius: 2.5,
    priorProb: 0.01,
    backbone,
    quality: "objectness",
  };
  return parseModelConfig({ ...base, ...overrides });
}

/** Checks a config (from a CLI flag or a checkpoint header) and returns it. */
export function parseModelConfig(c: ModelConfig): ModelConfig {
  const maxStride = 2 ** Math.max(...c.levels);
  if (!MODEL_NAMES.includes(c.size)) throw new ModelOptionError("size", `unknown model "${c.size}"; use ${MODEL_NAMES.join(", ")}`);
  if (!isScratchSize(c.size) && !c.backbone) throw new ModelOptionError("backbone", `model "${c.size}" needs its imported backbone in the config`);
  if (c.backbone && c.fusion) throw new ModelOptionError("fusion", "fusion is not available on an imported backbone");
  if (c.backbone && c.backbone.levels.some((l, i) => 2 ** c.levels[i] !== l.stride)) throw new ModelOptionError("levels", "levels must match the imported backbone's strides");
  if (!Number.isInteger(c.inputSize) || c.inputSize < maxStride || c.inputSize % maxStride !== 0) {
    throw new ModelOptionError("inputSize", `must be a positive multiple of ${maxStride} (the largest stride), got ${c.inputSize}`);
  }
  if (c.stageChannels.length !== 4 || c.stageBlocks.length !== 4) throw new ModelOptionError("stageChannels", "needs 4 stages (strides 4, 8, 16, 32)");
  if (c.levels.some((l) => l < 3 || l > 5) || c.levels.length === 0) throw new ModelOptionError("levels", "FPN levels must be within 3..5");
  if (c.scaleBounds.length !== c.levels.length + 1) throw new ModelOptionError("scaleBounds", `needs levels+1 = ${c.levels.length + 1} bounds`);
  if (c.textDim % c.textHeads !== 0) throw new ModelOptionError("textHeads", `textDim ${c.textDim} must be divisible by textHeads ${c.textHeads}`);
  if (c.fusion && c.dModel % c.textHeads !== 0) throw new ModelOptionError("textHeads", `dModel ${c.dModel} must be divisible by textHeads for fusion`);
  return c;
}

/** Canonical JSON (sorted keys) → sha256, first 16 hex chars. Equal hashes ⇔ same tensor layout. */
export function configHash(cfg: ModelConfig): string {
  return createHash("sha256").update(canonicalJson(cfg)).digest("hex").slice(0, 16);
}

export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

export function stridesOf(cfg: ModelConfig): number[] {
  return cfg.levels.map((l) => 2 ** l);
}
