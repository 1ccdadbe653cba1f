/**
 * The from-scratch families, `nano` and `small`: medfcl's own GLIP-style detector built from random
 * initialisation (a conv image encoder with an FPN, the text encoder, optional deep fusion, the
 * alignment head, FCOS boxes and centerness). `nano` trains on a CPU in minutes at 128 px;
 * `small` is GPU-sized.
 */
import { tf } from "../tfjs/backend.js";
import { stridesOf } from "../core/config.js";
import { PIXEL_MEAN, PIXEL_STD, REG_CLIP } from "../core/constants.js";
import { ModelOptionError } from "../core/errors.js";
import { attention, convLayer, encodeText, linear, type ParamLookup, type RawOutputs } from "../tfjs/model.js";
import { ONNX_IO, int, ints, str, textGraph, type ExportBuilder } from "../onnx/builder.js";
import { alignSpecs, convSpec, initWeightsFromSpecs, linearSpec, ones, textSpecs, zeros, type ParamGroup, type ParamSpec } from "../core/params.js";
import type { ModelConfig } from "../core/types.js";
import type { ModelFamily, TrainingDefaults } from "./family.js";

/**
 * Every tensor of the model, in canonical order. Names are the checkpoint, delta and ONNX
 * initializer names: never rename one without a migration.
 */
function scratchSpecs(cfg: ModelConfig): ParamSpec[] {
  const s: ParamSpec[] = [];
  convSpec(s, "image.stem", 3, 3, cfg.stemChannels, "stem");
  let ci = cfg.stemChannels;
  for (let i = 0; i < 4; i++) {
    const co = cfg.stageChannels[i];
    const g = `stage${i + 1}` as ParamGroup;
    convSpec(s, `image.stage${i + 1}.0`, 3, ci, co, g);
    for (let j = 1; j <= cfg.stageBlocks[i]; j++) convSpec(s, `image.stage${i + 1}.${j}`, 3, co, co, g);
    ci = co;
  }
  const d = cfg.dModel;
  for (const l of cfg.levels) {
    convSpec(s, `fpn.lateral${l}`, 1, cfg.stageChannels[l - 2], d, "fpn");
    convSpec(s, `fpn.out${l}`, 3, d, d, "fpn");
  }
  textSpecs(s, cfg);
  if (cfg.fusion) {
    for (const dir of ["i2t", "t2i"]) {
      // Output projections start at zero so that fusion begins as the identity.
      for (const m of ["q", "k", "v"]) linearSpec(s, `fusion.${dir}.${m}`, d, d, "fusion");
      linearSpec(s, `fusion.${dir}.o`, d, d, "fusion", zeros);
    }
  }
  for (let k = 0; k < cfg.headConvs; k++) {
    convSpec(s, `head.cls.${k}`, 3, d, d, "head");
    convSpec(s, `head.box.${k}`, 3, d, d, "head");
  }
  convSpec(s, "head.align", 1, d, d, "head", { kind: "normal", std: 1 / Math.sqrt(d) });
  alignSpecs(s, cfg);
  convSpec(s, "head.reg", 3, d, 4, "head", { kind: "normal", std: 0.01 });
  convSpec(s, "head.ctr", 3, d, 1, "head", { kind: "normal", std: 0.01 });
  for (const l of cfg.levels) s.push({ name: `head.scale${l}`, shape: [1], init: ones, group: "head", decay: false });
  return s;
}


/** Stage outputs C1..C5 (strides 2..32) from NHWC images in [0,1]. */
function encodeImage(cfg: ModelConfig, p: ParamLookup, images: tf.Tensor4D): tf.Tensor4D[] {
  let x = tf.div(tf.sub(images, PIXEL_MEAN), PIXEL_STD) as tf.Tensor4D;
  x = convLayer(x, p, "image.stem", 2, true);
  const feats = [x];
  for (let i = 0; i < 4; i++) {
    x = convLayer(x, p, `image.stage${i + 1}.0`, 2, true);
    for (let j = 1; j <= cfg.stageBlocks[i]; j++) x = convLayer(x, p, `image.stage${i + 1}.${j}`, 1, true);
    feats.push(x);
  }
  return feats;
}

/** FPN outputs for cfg.levels (ascending), top-down with nearest ×2 upsampling. */
function fpn(cfg: ModelConfig, p: ParamLookup, feats: tf.Tensor4D[]): tf.Tensor4D[] {
  const levels = [...cfg.levels].sort((a, b) => a - b);
  const lat = new Map<number, tf.Tensor4D>();
  let prev: tf.Tensor4D | null = null;
  for (const l of [...levels].reverse()) {
    let t = convLayer(feats[l - 1], p, `fpn.lateral${l}`, 1, false);
    if (prev) t = tf.add(t, tf.image.resizeNearestNeighbor(prev, [t.shape[1], t.shape[2]])) as tf.Tensor4D;
    lat.set(l, t);
    prev = t;
  }
  return levels.map((l) => convLayer(lat.get(l)!, p, `fpn.out${l}`, 1, false));
}

/** Bidirectional cross-attention between all locations and the tokens (one layer). */
function fuse(cfg: ModelConfig, p: ParamLookup, levelsFeats: tf.Tensor4D[], tokens: tf.Tensor3D, mask: tf.Tensor2D): { feats: tf.Tensor4D[]; tokens: tf.Tensor3D } {
  const b = tokens.shape[0];
  const d = cfg.dModel;
  const flat = tf.concat(levelsFeats.map((f) => tf.reshape(f, [b, -1, d])), 1);
  const img = tf.add(flat, attention(flat, tokens, mask, p, "fusion.i2t", cfg.textHeads));
  const txt = tf.add(tokens, attention(tokens, flat, null, p, "fusion.t2i", cfg.textHeads)) as tf.Tensor3D;
  const out: tf.Tensor4D[] = [];
  let off = 0;
  for (const f of levelsFeats) {
    const n = f.shape[1] * f.shape[2];
    out.push(tf.reshape(tf.slice(img, [0, off, 0], [b, n, d]), f.shape));
    off += n;
  }
  return { feats: out, tokens: txt };
}

/** Full inference graph: images [B,S,S,3] in [0,1], token ids/mask [B,M] → raw outputs. */
function scratchForward(cfg: ModelConfig, p: ParamLookup, images: tf.Tensor4D, ids: tf.Tensor2D, mask: tf.Tensor2D): RawOutputs {
  let feats = fpn(cfg, p, encodeImage(cfg, p, images));
  let tokens = encodeText(cfg, p, ids, mask);
  if (cfg.fusion) ({ feats, tokens } = fuse(cfg, p, feats, tokens, mask));
  const b = images.shape[0];
  const d = cfg.dModel;
  const tokAlign = linear(tokens, p, "align.token_proj"); // [B,M,d]
  const tokBias = tf.reshape(linear(tokens, p, "align.token_bias"), [b, 1, -1]); // [B,1,M]
  const strides = stridesOf(cfg);
  const logits: tf.Tensor[] = [];
  const boxes: tf.Tensor[] = [];
  const ctrs: tf.Tensor[] = [];
  feats.forEach((f, i) => {
    let c = f;
    let r = f;
    for (let k = 0; k < cfg.headConvs; k++) {
      c = convLayer(c, p, `head.cls.${k}`, 1, true);
      r = convLayer(r, p, `head.box.${k}`, 1, true);
    }
    const o = tf.reshape(convLayer(c, p, "head.align", 1, false), [b, -1, d]);
    logits.push(tf.add(tf.mul(tf.matMul(o, tf.transpose(tokAlign, [0, 2, 1])), 1 / Math.sqrt(d)), tokBias));
    const reg = tf.mul(convLayer(r, p, "head.reg", 1, false), p(`head.scale${cfg.levels[i]}`));
    boxes.push(tf.reshape(tf.mul(tf.exp(tf.clipByValue(reg, -REG_CLIP, REG_CLIP)), strides[i]), [b, -1, 4]));
    ctrs.push(tf.reshape(convLayer(r, p, "head.ctr", 1, false), [b, -1, 1]));
  });
  return {
    logits: tf.concat(logits, 1) as tf.Tensor3D,
    boxes: tf.concat(boxes, 1) as tf.Tensor3D,
    centerness: tf.concat(ctrs, 1) as tf.Tensor3D,
  };
}


/** The ONNX inference graph, node for node what scratchForward computes (NCHW). */
function scratchGraph(b: ExportBuilder, cfg: ModelConfig): void {
  const { g, conv, param, linear, shape, attention } = b;
  const m = cfg.maxTokens;
  const d = cfg.dModel;
  const strides = stridesOf(cfg);
  const sizes = strides.map((s) => cfg.inputSize / s);
  // Image encoder.
  let x = g.node("Transpose", [ONNX_IO.image], [ints("perm", [0, 3, 1, 2])]);
  x = g.node("Div", [g.node("Sub", [x, g.scalar(PIXEL_MEAN)]), g.scalar(PIXEL_STD)]);
  x = conv(x, "image.stem", 2, true);
  const feats = [x];
  for (let i = 0; i < 4; i++) {
    x = conv(x, `image.stage${i + 1}.0`, 2, true);
    for (let j = 1; j <= cfg.stageBlocks[i]; j++) x = conv(x, `image.stage${i + 1}.${j}`, 1, true);
    feats.push(x);
  }
  const levels = [...cfg.levels].sort((a, b) => a - b);
  const lat = new Map<number, string>();
  let prev: string | null = null;
  const upScales = g.const("resize_scales", [1, 1, 2, 2], [4]);
  for (const l of [...levels].reverse()) {
    let t = conv(feats[l - 1], `fpn.lateral${l}`, 1, false);
    if (prev) {
      const up = g.node("Resize", [prev, "", upScales], [str("mode", "nearest"), str("coordinate_transformation_mode", "asymmetric"), str("nearest_mode", "floor")]);
      t = g.node("Add", [t, up]);
    }
    lat.set(l, t);
    prev = t;
  }
  let levelFeats = levels.map((l) => conv(lat.get(l)!, `fpn.out${l}`, 1, false));

  // Text encoder.
  const text = textGraph(b, cfg);
  let tokens = text.tokens;
  const maskAdd = text.maskAdd;
  if (cfg.fusion) {
    const flat = g.node("Concat", levelFeats.map((f) => g.node("Transpose", [g.node("Reshape", [f, shape([0, d, -1])])], [ints("perm", [0, 2, 1])])), [int("axis", 1)]);
    const total = sizes.reduce((a, s) => a + s * s, 0);
    const img = g.node("Add", [flat, attention(flat, tokens, total, m, maskAdd, "fusion.i2t", d, cfg.textHeads)]);
    tokens = g.node("Add", [tokens, attention(tokens, flat, m, total, null, "fusion.t2i", d, cfg.textHeads)]);
    let off = 0;
    levelFeats = sizes.map((s) => {
      const sl = g.node("Slice", [img, g.ints(`sl_s_${off}`, [off]), g.ints(`sl_e_${off}`, [off + s * s]), g.ints(`sl_a_${off}`, [1])]);
      off += s * s;
      return g.node("Reshape", [g.node("Transpose", [sl], [ints("perm", [0, 2, 1])]), shape([0, d, s, s])]);
    });
  }
  const tokAlignT = g.node("Transpose", [linear(tokens, "align.token_proj")], [ints("perm", [0, 2, 1])]);
  const tokBias = g.node("Reshape", [linear(tokens, "align.token_bias"), shape([-1, 1, m])]);
  const logits: string[] = [];
  const boxes: string[] = [];
  const ctrs: string[] = [];
  levelFeats.forEach((f, i) => {
    let c = f;
    let r = f;
    for (let k = 0; k < cfg.headConvs; k++) {
      c = conv(c, `head.cls.${k}`, 1, true);
      r = conv(r, `head.box.${k}`, 1, true);
    }
    const o = g.node("Transpose", [g.node("Reshape", [conv(c, "head.align", 1, false), shape([0, d, -1])])], [ints("perm", [0, 2, 1])]);
    logits.push(g.node("Add", [g.node("Mul", [g.node("MatMul", [o, tokAlignT]), g.scalar(1 / Math.sqrt(d))]), tokBias]));
    const reg = g.node("Mul", [conv(r, "head.reg", 1, false), param(`head.scale${cfg.levels[i]}`)]);
    const dist = g.node("Mul", [g.node("Exp", [g.node("Clip", [reg, g.scalar(-REG_CLIP), g.scalar(REG_CLIP)])]), g.scalar(strides[i])]);
    boxes.push(g.node("Transpose", [g.node("Reshape", [dist, shape([0, 4, -1])])], [ints("perm", [0, 2, 1])]));
    ctrs.push(g.node("Transpose", [g.node("Reshape", [conv(r, "head.ctr", 1, false), shape([0, 1, -1])])], [ints("perm", [0, 2, 1])]));
  });
  g.node("Concat", logits, [int("axis", 1)], ONNX_IO.logits);
  g.node("Concat", boxes, [int("axis", 1)], ONNX_IO.boxes);
  g.node("Concat", ctrs, [int("axis", 1)], ONNX_IO.centerness);
}

/**
 * Random weights need a 10× larger lr than fine-tuning, freezing random bottom stages would only
 * lose capacity, and clipping is loose; the text encoder learns at a tenth of the lr.
 */
const FROM_SCRATCH: TrainingDefaults = { lr: 2e-3, textLrRatio: 0.1, weightDecay: 0.05, batchSize: 8, epochs: 3, freezeStages: 0, gradClip: 5, warmupSteps: 50 };

function scratchFamily(name: string, summary: string, preset: Omit<ModelConfig, "size">): ModelFamily {
  // `size` first, as checkpoints have always written it (their headers keep key order).
  const config = (overrides: Partial<ModelConfig>): ModelConfig => Object.assign({ size: name }, structuredClone(preset), overrides, { size: name });
  return {
    name,
    summary,
    training: FROM_SCRATCH,
    config,
    create({ seed, inputSize, baseWeights }) {
      if (baseWeights) throw new ModelOptionError("baseWeights", `model "${name}" starts from random weights; it takes no base weights`);
      const cfg = config(inputSize ? { inputSize } : {});
      return { config: cfg, weights: initWeightsFromSpecs(scratchSpecs(cfg), seed) };
    },
    validate(cfg) {
      if (cfg.backbone) throw new ModelOptionError("backbone", `model "${name}" has no imported backbone`);
    },
    paramSpecs: scratchSpecs,
    forward: scratchForward,
    embed: (cfg, p, images) => encodeImage(cfg, p, images).at(-1)!,
    embedChannels: (cfg) => cfg.stageChannels[3],
    exportGraph: scratchGraph,
  };
}

export const nano = scratchFamily("nano", "from random weights, CPU-sized: trains in minutes on 2 cores at 128 px", {
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
});

export const small = scratchFamily("small", "from random weights, GPU-sized (320 px, deep fusion)", {
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
});
