import { tf } from "./backend.js";
import type { RawOutputs } from "./model.js";
import type { BatchTargets } from "../training/targets.js";

export interface LossWeights {
  focalAlpha: number;
  focalGamma: number;
  giou: number;
  l1: number;
  centerness: number;
}

export function defaultLossWeights(): LossWeights {
  return { focalAlpha: 0.25, focalGamma: 2, giou: 1, l1: 0.1, centerness: 1 };
}

/** log(1 + e^x) computed stably as max(x,0) + log1p(e^−|x|). */
function bceWithLogits(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.add(tf.sub(tf.relu(x), tf.mul(x, y)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
}

export interface LossParts {
  total: tf.Scalar;
  cls: tf.Scalar;
  box: tf.Scalar;
  ctr: tf.Scalar;
}

/**
 * Sigmoid focal loss on the alignment logits S against the token target map (over real tokens),
 * GIoU (weighted by the centerness target) + L1 (in strides) on l,t,r,b, and BCE on centerness
 * (or on objectness at every location, for models whose third output is YOLOX's objectness).
 * Everything is dense with 0/1 weights, so no gather (whose gradient wasm lacks) is needed.
 */
export function detectionLoss(
  out: RawOutputs,
  t: BatchTargets,
  tokenMask: tf.Tensor2D,
  strides: tf.Tensor1D,
  w: LossWeights = defaultLossWeights(),
  quality: "centerness" | "objectness" = "centerness",
): LossParts {
  const { batch: b, n, m } = t;
  const normPos = Math.max(t.numPositive, 1);
  const T = tf.tensor3d(t.tokenTargets, [b, n, m]);
  const S = out.logits;
  const p = tf.sigmoid(S);
  const ce = bceWithLogits(S, T);
  const pt = tf.add(tf.mul(p, T), tf.mul(tf.sub(1, p), tf.sub(1, T)));
  const alphaT = tf.add(tf.mul(T, w.focalAlpha), tf.mul(tf.sub(1, T), 1 - w.focalAlpha));
  const oneMinus = tf.sub(1, pt);
  const modulator = w.focalGamma === 2 ? tf.square(oneMinus) : tf.pow(oneMinus, w.focalGamma);
  const focal = tf.mul(tf.mul(alphaT, modulator), ce);
  const cls = tf.div(tf.sum(tf.mul(focal, tf.reshape(tokenMask, [b, 1, m]))), normPos) as tf.Scalar;

  const pos = tf.tensor2d(t.positive, [b, n]);
  const tb = tf.tensor3d(t.boxes, [b, n, 4]);
  const ctrT = tf.tensor2d(t.centerness, [b, n]);
  const [pl, pt_, pr, pb] = tf.unstack(out.boxes, 2);
  const [tl, tt, tr, tbb] = tf.unstack(tb, 2);
  const predArea = tf.mul(tf.add(pl, pr), tf.add(pt_, pb));
  const tgtArea = tf.mul(tf.add(tl, tr), tf.add(tt, tbb));
  // Clamped at 0: a predicted box (YOLOX regression) need not contain its location, so the two boxes
  // may not overlap. FCOS distances are positive, and there the clamp changes nothing.
  const iw = tf.relu(tf.add(tf.minimum(pl, tl), tf.minimum(pr, tr)));
  const ih = tf.relu(tf.add(tf.minimum(pt_, tt), tf.minimum(pb, tbb)));
  const inter = tf.mul(iw, ih);
  const union = tf.sub(tf.add(predArea, tgtArea), inter);
  const iou = tf.div(inter, tf.add(union, 1e-6));
  const ew = tf.add(tf.maximum(pl, tl), tf.maximum(pr, tr));
  const eh = tf.add(tf.maximum(pt_, tt), tf.maximum(pb, tbb));
  const enc = tf.add(tf.mul(ew, eh), 1e-6);
  const giou = tf.sub(iou, tf.div(tf.sub(enc, union), enc));
  const ctrSum = Math.max(t.centerness.reduce((a, v) => a + v, 0), 1e-6);
  const giouLoss = tf.div(tf.sum(tf.mul(tf.sub(1, giou), ctrT)), ctrSum);
  const l1 = tf.div(tf.sum(tf.mul(tf.abs(tf.div(tf.sub(out.boxes, tb), tf.reshape(strides, [1, n, 1]))), tf.reshape(pos, [b, n, 1]))), normPos);
  const box = tf.add(tf.mul(giouLoss, w.giou), tf.mul(l1, w.l1)) as tf.Scalar;

  const ctrLogit = tf.reshape(out.centerness, [b, n]);
  // Objectness (YOLOX) learns "is there an object" at every location; centerness only at positives.
  const ctr = (quality === "objectness" ? tf.div(tf.sum(bceWithLogits(ctrLogit, pos)), normPos) : tf.div(tf.sum(tf.mul(bceWithLogits(ctrLogit, ctrT), pos)), normPos)) as tf.Scalar;
  const total = tf.add(tf.add(cls, box), tf.mul(ctr, w.centerness)) as tf.Scalar;
  return { total, cls, box, ctr };
}
