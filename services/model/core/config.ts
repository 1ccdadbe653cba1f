import { createHash } from "node:crypto";
import { ModelOptionError } from "./errors.js";
import type { ImportedBackbone, ModelConfig } from "./types.js";

/**
 * The grounded detector on an imported pretrained backbone. 256 px keeps a CPU fine-tuning step
 * around a second (Kvasir-SEG is published at 256×256); the text side is nano's, twice as wide,
 * with room for the long descriptive prompts of multi-class tasks.
 */
export function groundedConfig(backbone: ImportedBackbone, overrides: Partial<ModelConfig> = {}): ModelConfig {
  const strides = backbone.levels.map((l) => l.stride);
  const base: ModelConfig = {
    size: backbone.name,
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

/**
 * Checks what every config must satisfy (from a CLI flag or a checkpoint header) and returns it.
 * What one family requires (families/), and whether the family exists, is checked where a model
 * is built (checkModelConfig); this module loads no family, so reading a checkpoint needs no tfjs.
 */
export function parseModelConfig(c: ModelConfig): ModelConfig {
  const maxStride = 2 ** Math.max(...c.levels);
  if (typeof c.size !== "string" || c.size === "") throw new ModelOptionError("size", "the config names no model family");
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
