import { tf } from "./backend.js";
import { conv2d } from "./conv.js";
import { stridesOf } from "./config.js";
import type { ModelConfig } from "./types.js";
import { groundedForward } from "./yolox.js";

/** Looks a parameter up by its stable name (variables while training, constants at inference). */
export type ParamLookup = (name: string) => tf.Tensor;

/** Pixel normalisation baked into the graph (and into the ONNX export). */
export const PIXEL_MEAN = 0.5;
export const PIXEL_STD = 0.25;
/** Additive attention mask for padded tokens; the ONNX graph uses the same constant. */
export const MASK_NEG = -1e4;
export const LN_EPS = 1e-5;
/** Box regression exponent is clipped to ±this before exp. */
export const REG_CLIP = 8;

export interface RawOutputs {
  /** [B, N, M] alignment logits S over all levels' locations (level-major, row-major). */
  logits: tf.Tensor3D;
  /** [B, N, 4] distances l, t, r, b in input pixels. */
  boxes: tf.Tensor3D;
  /** [B, N, 1] centerness logits. */
  centerness: tf.Tensor3D;
}

export function convLayer(x: tf.Tensor4D, p: ParamLookup, name: string, stride: number, relu: boolean): tf.Tensor4D {
  const w = p(`${name}.weight`) as tf.Tensor4D;
  const k = w.shape[0];
  const pad = (k - 1) / 2;
  const y = tf.add(conv2d(x, w, stride, [pad, pad, pad, pad]), p(`${name}.bias`)) as tf.Tensor4D;
  return relu ? tf.relu(y) : y;
}

export function linear(x: tf.Tensor, p: ParamLookup, name: string): tf.Tensor {
  const w = p(`${name}.weight`) as tf.Tensor2D;
  const shape = x.shape;
  const y = tf.add(tf.matMul(tf.reshape(x, [-1, shape[shape.length - 1]]), w), p(`${name}.bias`));
  return tf.reshape(y, [...shape.slice(0, -1), w.shape[1]]);
}

function layerNorm(x: tf.Tensor, p: ParamLookup, name: string): tf.Tensor {
  const mean = tf.mean(x, -1, true);
  const xc = tf.sub(x, mean);
  const variance = tf.mean(tf.square(xc), -1, true);
  return tf.add(tf.mul(tf.mul(xc, tf.rsqrt(tf.add(variance, LN_EPS))), p(`${name}.gamma`)), p(`${name}.beta`));
}

/** Multi-head attention of q over kv; `keyMask` [B, S] (1 = attend) or null. */
function attention(q: tf.Tensor, kv: tf.Tensor, keyMask: tf.Tensor | null, p: ParamLookup, name: string, heads: number): tf.Tensor {
  const [b, l, d] = q.shape as [number, number, number];
  const s = kv.shape[1] as number;
  const dh = d / heads;
  const split = (t: tf.Tensor, len: number) => tf.transpose(tf.reshape(t, [b, len, heads, dh]), [0, 2, 1, 3]);
  const qh = split(linear(q, p, `${name}.q`), l);
  const kh = split(linear(kv, p, `${name}.k`), s);
  const vh = split(linear(kv, p, `${name}.v`), s);
  let scores = tf.mul(tf.matMul(qh, tf.transpose(kh, [0, 1, 3, 2])), 1 / Math.sqrt(dh)); // [B,h,L,S]
  if (keyMask) scores = tf.add(scores, tf.reshape(tf.mul(tf.sub(1, keyMask), MASK_NEG), [b, 1, 1, s]));
  const ctx = tf.matMul(tf.softmax(scores, -1), vh); // [B,h,L,dh]
  return linear(tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [b, l, d]), p, `${name}.o`);
}

/** Token features [B, M, dModel] from ids [B, M] (int32) and mask [B, M]. */
export function encodeText(cfg: ModelConfig, p: ParamLookup, ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor3D {
  const [b, m] = ids.shape;
  const emb = p("text.token_embed") as tf.Tensor2D;
  // One-hot matMul instead of gather: gather's gradient needs UnsortedSegmentSum, which wasm lacks.
  const oneHot = tf.oneHot(tf.reshape(ids, [-1]), emb.shape[0]).toFloat();
  let h: tf.Tensor = tf.reshape(tf.matMul(oneHot, emb), [b, m, cfg.textDim]);
  h = tf.add(h, tf.slice(p("text.pos_embed"), [0, 0], [m, cfg.textDim]));
  for (let l = 0; l < cfg.textLayers; l++) {
    const pre = `text.layer${l}`;
    const n1 = layerNorm(h, p, `${pre}.ln1`);
    h = tf.add(h, attention(n1, n1, mask, p, `${pre}.attn`, cfg.textHeads));
    const f = linear(tf.relu(linear(layerNorm(h, p, `${pre}.ln2`), p, `${pre}.ffn.fc1`)), p, `${pre}.ffn.fc2`);
    h = tf.add(h, f);
  }
  return linear(layerNorm(h, p, "text.ln_f"), p, "text.proj") as tf.Tensor3D;
}

/** Stage outputs C1..C5 (strides 2..32) from NHWC images in [0,1]. */
export function encodeImage(cfg: ModelConfig, p: ParamLookup, images: tf.Tensor4D): tf.Tensor4D[] {
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
export function fpn(cfg: ModelConfig, p: ParamLookup, feats: tf.Tensor4D[]): tf.Tensor4D[] {
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
export function fuse(cfg: ModelConfig, p: ParamLookup, levelsFeats: tf.Tensor4D[], tokens: tf.Tensor3D, mask: tf.Tensor2D): { feats: tf.Tensor4D[]; tokens: tf.Tensor3D } {
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
export function forward(cfg: ModelConfig, p: ParamLookup, images: tf.Tensor4D, ids: tf.Tensor2D, mask: tf.Tensor2D): RawOutputs {
  if (cfg.backbone) return groundedForward(cfg, p, images, ids, mask);
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

/** Location centres (x, y) and strides, in the order of the raw outputs. */
export interface Locations {
  x: Float32Array;
  y: Float32Array;
  stride: Float32Array;
  level: Int32Array;
}

export function locations(cfg: ModelConfig): Locations {
  const xs: number[] = [];
  const ys: number[] = [];
  const ss: number[] = [];
  const ls: number[] = [];
  stridesOf(cfg).forEach((s, li) => {
    const n = cfg.inputSize / s;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        xs.push((c + 0.5) * s);
        ys.push((r + 0.5) * s);
        ss.push(s);
        ls.push(li);
      }
    }
  });
  return { x: Float32Array.from(xs), y: Float32Array.from(ys), stride: Float32Array.from(ss), level: Int32Array.from(ls) };
}
