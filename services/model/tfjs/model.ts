import { tf } from "./backend.js";
import { conv2d } from "./conv.js";
import { stridesOf } from "../core/config.js";
import { LN_EPS, MASK_NEG } from "../core/constants.js";
import type { ModelConfig } from "../core/types.js";

/** Looks a parameter up by its stable name (variables while training, constants at inference). */
export type ParamLookup = (name: string) => tf.Tensor;


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
export function attention(q: tf.Tensor, kv: tf.Tensor, keyMask: tf.Tensor | null, p: ParamLookup, name: string, heads: number): tf.Tensor {
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
  const oneHot = tf.cast(tf.oneHot(tf.reshape(ids, [-1]), emb.shape[0]), "float32");
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
