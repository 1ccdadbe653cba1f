import { hashString, mixSeed, mulberry32, type Rng } from "../data/index.js";
import type { TensorMap } from "../tensors/index.js";
import { vocabSize } from "./tokenizer.js";
import type { ModelConfig } from "./types.js";

/** Which optimizer group and freeze unit a tensor belongs to. */
export type ParamGroup = "stem" | "stage1" | "stage2" | "stage3" | "stage4" | "fpn" | "fusion" | "head" | "text";

export type ParamInit = { kind: "he"; fanIn: number } | { kind: "normal"; std: number } | { kind: "const"; value: number };

export interface ParamSpec {
  name: string;
  shape: number[];
  init: ParamInit;
  group: ParamGroup;
  /** Decoupled weight decay applies (weights yes; biases, norms, scales, embeddings no). */
  decay: boolean;
}

/** Standard normal (Box-Muller) from a seeded stream. */
function gaussian(rng: Rng): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

const zeros: ParamInit = { kind: "const", value: 0 };
const ones: ParamInit = { kind: "const", value: 1 };

function conv(specs: ParamSpec[], name: string, k: number, ci: number, co: number, group: ParamGroup, init?: ParamInit, biasInit: ParamInit = zeros): void {
  specs.push({ name: `${name}.weight`, shape: [k, k, ci, co], init: init ?? { kind: "he", fanIn: k * k * ci }, group, decay: true });
  specs.push({ name: `${name}.bias`, shape: [co], init: biasInit, group, decay: false });
}

function linear(specs: ParamSpec[], name: string, ci: number, co: number, group: ParamGroup, init?: ParamInit, biasInit: ParamInit = zeros): void {
  specs.push({ name: `${name}.weight`, shape: [ci, co], init: init ?? { kind: "normal", std: 1 / Math.sqrt(ci) }, group, decay: true });
  specs.push({ name: `${name}.bias`, shape: [co], init: biasInit, group, decay: false });
}

function layerNorm(specs: ParamSpec[], name: string, d: number, group: ParamGroup): void {
  specs.push({ name: `${name}.gamma`, shape: [d], init: ones, group, decay: false });
  specs.push({ name: `${name}.beta`, shape: [d], init: zeros, group, decay: false });
}

/**
 * Every tensor of the model, in canonical order. Names are the checkpoint, delta and ONNX
 * initializer names: never rename one without a migration.
 */
export function paramSpecs(cfg: ModelConfig): ParamSpec[] {
  if (cfg.backbone) return groundedSpecs(cfg);
  const s: ParamSpec[] = [];
  conv(s, "image.stem", 3, 3, cfg.stemChannels, "stem");
  let ci = cfg.stemChannels;
  for (let i = 0; i < 4; i++) {
    const co = cfg.stageChannels[i];
    const g = `stage${i + 1}` as ParamGroup;
    conv(s, `image.stage${i + 1}.0`, 3, ci, co, g);
    for (let j = 1; j <= cfg.stageBlocks[i]; j++) conv(s, `image.stage${i + 1}.${j}`, 3, co, co, g);
    ci = co;
  }
  const d = cfg.dModel;
  for (const l of cfg.levels) {
    conv(s, `fpn.lateral${l}`, 1, cfg.stageChannels[l - 2], d, "fpn");
    conv(s, `fpn.out${l}`, 3, d, d, "fpn");
  }
  textSpecs(s, cfg);
  if (cfg.fusion) {
    for (const dir of ["i2t", "t2i"]) {
      // Output projections start at zero so that fusion begins as the identity.
      for (const m of ["q", "k", "v"]) linear(s, `fusion.${dir}.${m}`, d, d, "fusion");
      linear(s, `fusion.${dir}.o`, d, d, "fusion", zeros);
    }
  }
  for (let k = 0; k < cfg.headConvs; k++) {
    conv(s, `head.cls.${k}`, 3, d, d, "head");
    conv(s, `head.box.${k}`, 3, d, d, "head");
  }
  conv(s, "head.align", 1, d, d, "head", { kind: "normal", std: 1 / Math.sqrt(d) });
  alignSpecs(s, cfg);
  conv(s, "head.reg", 3, d, 4, "head", { kind: "normal", std: 0.01 });
  conv(s, "head.ctr", 3, d, 1, "head", { kind: "normal", std: 0.01 });
  for (const l of cfg.levels) s.push({ name: `head.scale${l}`, shape: [1], init: ones, group: "head", decay: false });
  return s;
}

/** The text encoder's tensors (shared by every architecture). */
function textSpecs(s: ParamSpec[], cfg: ModelConfig): void {
  const t = cfg.textDim;
  const d = cfg.dModel;
  s.push({ name: "text.token_embed", shape: [vocabSize(cfg), t], init: { kind: "normal", std: 1 }, group: "text", decay: false });
  s.push({ name: "text.pos_embed", shape: [cfg.maxTokens, t], init: { kind: "normal", std: 0.1 }, group: "text", decay: false });
  for (let l = 0; l < cfg.textLayers; l++) {
    const p = `text.layer${l}`;
    layerNorm(s, `${p}.ln1`, t, "text");
    for (const m of ["q", "k", "v", "o"]) linear(s, `${p}.attn.${m}`, t, t, "text");
    layerNorm(s, `${p}.ln2`, t, "text");
    linear(s, `${p}.ffn.fc1`, t, cfg.textFfn, "text", { kind: "he", fanIn: t });
    linear(s, `${p}.ffn.fc2`, cfg.textFfn, t, "text");
  }
  layerNorm(s, "text.ln_f", t, "text");
  linear(s, "text.proj", t, d, "text");
}

/**
 * An imported backbone's tensors (in graph order, with the groups the importer found), the text
 * encoder, and the new alignment head: a 1×1 conv from the source class features to d, the token
 * projection and the per-token bias with the prior folded in.
 */
function groundedSpecs(cfg: ModelConfig): ParamSpec[] {
  const bb = cfg.backbone!;
  const s: ParamSpec[] = [];
  for (const [name, { shape, group }] of Object.entries(bb.params)) {
    const isWeight = name.endsWith(".weight");
    const fanIn = shape.length === 4 ? shape[0] * shape[1] * shape[2] : 1;
    s.push({ name, shape: [...shape], init: isWeight ? { kind: "he", fanIn } : zeros, group, decay: isWeight });
  }
  textSpecs(s, cfg);
  const d = cfg.dModel;
  const c = bb.levels[0].clsChannels;
  conv(s, "head.align", 1, c, d, "head", { kind: "normal", std: 1 / Math.sqrt(c) });
  alignSpecs(s, cfg);
  return s;
}

function alignSpecs(s: ParamSpec[], cfg: ModelConfig): void {
  const d = cfg.dModel;
  linear(s, "align.token_proj", d, d, "head");
  // Per-token bias (GLIP's bias_lang) plus the prior bias folded into its bias term.
  linear(s, "align.token_bias", d, 1, "head", zeros, { kind: "const", value: -Math.log((1 - cfg.priorProb) / cfg.priorProb) });
}

/** Seeded initial weights: each tensor draws from its own stream (seed, name), so adding a tensor never changes the others. */
export function initWeights(cfg: ModelConfig, seed: number): TensorMap {
  const out: TensorMap = new Map();
  for (const spec of paramSpecs(cfg)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const init = spec.init;
    if (init.kind === "const") {
      data.fill(init.value);
    } else {
      const std = init.kind === "he" ? Math.sqrt(2 / init.fanIn) : init.std;
      const rng = mulberry32(mixSeed(seed, hashString(spec.name)));
      for (let i = 0; i < n; i++) data[i] = gaussian(rng) * std;
    }
    out.set(spec.name, { dtype: "float32", shape: [...spec.shape], data });
  }
  return out;
}
