import { createHash } from "node:crypto";
import { ModelOptionError } from "./errors.js";
import type { ModelConfig, ModelSize } from "./types.js";

const PRESETS: Record<ModelSize, ModelConfig> = {
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

export const MODEL_SIZES: readonly ModelSize[] = ["nano", "small"];

export function modelConfig(size: ModelSize, overrides: Partial<ModelConfig> = {}): ModelConfig {
  const base = PRESETS[size];
  if (!base) throw new ModelOptionError("model", `unknown model size "${String(size)}"; use ${MODEL_SIZES.join(" or ")}`);
  return parseModelConfig({ ...structuredClone(base), ...overrides, size });
}

/** Checks a config (from a CLI flag or a checkpoint header) and returns it. */
export function parseModelConfig(c: ModelConfig): ModelConfig {
  const maxStride = 2 ** Math.max(...c.levels);
  if (!MODEL_SIZES.includes(c.size)) throw new ModelOptionError("size", `unknown model size "${c.size}"`);
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
