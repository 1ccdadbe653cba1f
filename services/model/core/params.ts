import { hashString, mixSeed, mulberry32, type Rng } from "../../data/index.js";
import type { TensorMap } from "../../tensors/index.js";
import { vocabSize } from "./tokenizer.js";
import type { ModelConfig, ParamGroup } from "./types.js";

export type { ParamGroup } from "./types.js";

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

export const zeros: ParamInit = { kind: "const", value: 0 };
export const ones: ParamInit = { kind: "const", value: 1 };

export function convSpec(specs: ParamSpec[], name: string, k: number, ci: number, co: number, group: ParamGroup, init?: ParamInit, biasInit: ParamInit = zeros): void {
  specs.push({ name: `${name}.weight`, shape: [k, k, ci, co], init: init ?? { kind: "he", fanIn: k * k * ci }, group, decay: true });
  specs.push({ name: `${name}.bias`, shape: [co], init: biasInit, group, decay: false });
}

export function linearSpec(specs: ParamSpec[], name: string, ci: number, co: number, group: ParamGroup, init?: ParamInit, biasInit: ParamInit = zeros): void {
  specs.push({ name: `${name}.weight`, shape: [ci, co], init: init ?? { kind: "normal", std: 1 / Math.sqrt(ci) }, group, decay: true });
  specs.push({ name: `${name}.bias`, shape: [co], init: biasInit, group, decay: false });
}

export function layerNormSpec(specs: ParamSpec[], name: string, d: number, group: ParamGroup): void {
  specs.push({ name: `${name}.gamma`, shape: [d], init: ones, group, decay: false });
  specs.push({ name: `${name}.beta`, shape: [d], init: zeros, group, decay: false });
}

/** The text encoder's tensors (shared by every architecture). */
export function textSpecs(s: ParamSpec[], cfg: ModelConfig): void {
  const t = cfg.textDim;
  const d = cfg.dModel;
  s.push({ name: "text.token_embed", shape: [vocabSize(cfg), t], init: { kind: "normal", std: 1 }, group: "text", decay: false });
  s.push({ name: "text.pos_embed", shape: [cfg.maxTokens, t], init: { kind: "normal", std: 0.1 }, group: "text", decay: false });
  for (let l = 0; l < cfg.textLayers; l++) {
    const p = `text.layer${l}`;
    layerNormSpec(s, `${p}.ln1`, t, "text");
    for (const m of ["q", "k", "v", "o"]) linearSpec(s, `${p}.attn.${m}`, t, t, "text");
    layerNormSpec(s, `${p}.ln2`, t, "text");
    linearSpec(s, `${p}.ffn.fc1`, t, cfg.textFfn, "text", { kind: "he", fanIn: t });
    linearSpec(s, `${p}.ffn.fc2`, cfg.textFfn, t, "text");
  }
  layerNormSpec(s, "text.ln_f", t, "text");
  linearSpec(s, "text.proj", t, d, "text");
}

export function alignSpecs(s: ParamSpec[], cfg: ModelConfig): void {
  const d = cfg.dModel;
  linearSpec(s, "align.token_proj", d, d, "head");
  // Per-token bias (GLIP's bias_lang) plus the prior bias folded into its bias term.
  linearSpec(s, "align.token_bias", d, 1, "head", zeros, { kind: "const", value: -Math.log((1 - cfg.priorProb) / cfg.priorProb) });
}

/** Seeded initial weights: each tensor draws from its own stream (seed, name), so adding a tensor never changes the others. */
export function initWeightsFromSpecs(specs: ParamSpec[], seed: number): TensorMap {
  const out: TensorMap = new Map();
  for (const spec of specs) {
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
