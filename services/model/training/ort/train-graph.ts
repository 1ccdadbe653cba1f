import type { TensorMap } from "../../../tensors/index.js";
import { defaultLossWeights, type LossWeights } from "../../tfjs/loss.js";
import { locations } from "../../tfjs/model.js";
import { ONNX_IO, exportOnnx } from "../../onnx/export.js";
import type { ParamSpec } from "../../core/params.js";
import type { ModelConfig } from "../../core/types.js";
import { GraphError } from "../../core/errors.js";
import { buildGradients } from "./grad.js";
import { Graph } from "../../onnx/graph.js";

/** Names of the training graph's inputs and outputs besides the forward pass's own. */
export const TRAIN_IO = {
  tokenTargets: "target_tokens", // [B, N, M]
  positive: "target_positive", // [B, N]
  boxes: "target_boxes", // [B, N, 4]
  centerness: "target_centerness", // [B, N]
  normPos: "norm_positive", // [] max(#positives, 1)
  ctrSum: "norm_centerness", // [] max(Σ centerness target, 1e-6)
  lr: (group: "base" | "text") => `lr_${group}`, // [] lr × schedule factor
  lrWd: (group: "base" | "text") => `lr_wd_${group}`, // [] lr × factor × weight decay
  bc1: "adam_bc1", // [] 1 − β1^t
  bc2: "adam_bc2", // [] 1 − β2^t
  loss: "loss",
  cls: "loss_cls",
  box: "loss_box",
  ctr: "loss_ctr",
  gradNorm: "grad_norm",
  /** All trainable parameters, flattened (ONNX layout) and concatenated in `trainable` order. */
  params: "params",
  m: "adam_m",
  v: "adam_v",
  next: (name: string) => `${name}.next`,
  grad: (name: string) => `grad.${name}`,
} as const;

/** Where each trainable parameter sits in the flat parameter vector. */
export function flatLayout(trainable: ParamSpec[]): { offsets: number[]; total: number } {
  const offsets: number[] = [];
  let total = 0;
  for (const s of trainable) {
    offsets.push(total);
    total += s.shape.reduce((a, b) => a * b, 1);
  }
  return { offsets, total };
}

export const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

export interface TrainGraphOptions {
  batch: number;
  /** Parameters that get gradients (and optimizer state, in "step" mode); the rest are baked in as constants. */
  trainable: ParamSpec[];
  /** "step": one AdamW step with state in/out; "grads": the loss and each trainable parameter's gradient. */
  mode: "step" | "grads";
  gradClip: number;
  lossWeights?: LossWeights;
}

export interface TrainGraph {
  bytes: Uint8Array;
  graph: Graph;
  /** Number of locations N (all levels). */
  n: number;
}

/**
 * The detection loss of services/model/tfjs/loss.ts as ONNX nodes, op for op (sigmoid focal loss on S
 * over real tokens, GIoU weighted by the centerness target + L1 in strides on l,t,r,b, BCE on
 * centerness); the assignment targets and their normalisers are graph inputs computed in JS.
 */
function addLoss(g: Graph, cfg: ModelConfig, batch: number, w: LossWeights): { total: string; cls: string; box: string; ctr: string; n: number } {
  const loc = locations(cfg);
  const n = loc.x.length;
  const m = cfg.maxTokens;
  const b = batch;
  const T = g.input(TRAIN_IO.tokenTargets, "float32", [b, n, m]);
  const pos = g.input(TRAIN_IO.positive, "float32", [b, n]);
  const tb = g.input(TRAIN_IO.boxes, "float32", [b, n, 4]);
  const ctrT = g.input(TRAIN_IO.centerness, "float32", [b, n]);
  const normPos = g.input(TRAIN_IO.normPos, "float32", []);
  const ctrSum = g.input(TRAIN_IO.ctrSum, "float32", []);
  const one = g.scalar(1);
  const op = (o: string, ins: string[]) => g.op(o, ins);
  const sumAll = (x: string) => g.op("ReduceSum", [x, g.i64(g.shape(x).map((_, i) => i))], { keepdims: { i: 0 } });
  // log(1 + e^x) = max(x,0) − x·y + log1p(e^−|x|), as loss.ts writes it.
  const bce = (x: string, y: string) => op("Add", [op("Sub", [op("Relu", [x]), op("Mul", [x, y])]), op("Log", [op("Add", [op("Exp", [op("Neg", [op("Abs", [x])])]), one])])]);

  const S = ONNX_IO.logits;
  const p = op("Sigmoid", [S]);
  const ce = bce(S, T);
  const oneMinusT = op("Sub", [one, T]);
  const pt = op("Add", [op("Mul", [p, T]), op("Mul", [op("Sub", [one, p]), oneMinusT])]);
  const alphaT = op("Add", [op("Mul", [T, g.scalar(w.focalAlpha)]), op("Mul", [oneMinusT, g.scalar(1 - w.focalAlpha)])]);
  const om = op("Sub", [one, pt]);
  const modulator = w.focalGamma === 2 ? op("Mul", [om, om]) : op("Pow", [om, g.scalar(w.focalGamma)]);
  const focal = op("Mul", [op("Mul", [alphaT, modulator]), ce]);
  const tokMask = g.op("Reshape", [ONNX_IO.attentionMask, g.i64([b, 1, m])]);
  const cls = op("Div", [sumAll(op("Mul", [focal, tokMask])), normPos]);

  const part = (x: string, k: number) => g.op("Reshape", [g.op("Slice", [x, g.i64([k]), g.i64([k + 1]), g.i64([2])]), g.i64([b, n])]);
  const [pl, ptp, pr, pb] = [0, 1, 2, 3].map((k) => part(ONNX_IO.boxes, k));
  const [tl, tt, tr, tbb] = [0, 1, 2, 3].map((k) => part(tb, k));
  const predArea = op("Mul", [op("Add", [pl, pr]), op("Add", [ptp, pb])]);
  const tgtArea = op("Mul", [op("Add", [tl, tr]), op("Add", [tt, tbb])]);
  // Clamped at 0 as in loss.ts (YOLOX boxes need not contain their location).
  const iw = op("Relu", [op("Add", [op("Min", [pl, tl]), op("Min", [pr, tr])])]);
  const ih = op("Relu", [op("Add", [op("Min", [ptp, tt]), op("Min", [pb, tbb])])]);
  const inter = op("Mul", [iw, ih]);
  const union = op("Sub", [op("Add", [predArea, tgtArea]), inter]);
  const iou = op("Div", [inter, op("Add", [union, g.scalar(1e-6)])]);
  const ew = op("Add", [op("Max", [pl, tl]), op("Max", [pr, tr])]);
  const eh = op("Add", [op("Max", [ptp, tt]), op("Max", [pb, tbb])]);
  const enc = op("Add", [op("Mul", [ew, eh]), g.scalar(1e-6)]);
  const giou = op("Sub", [iou, op("Div", [op("Sub", [enc, union]), enc])]);
  const giouLoss = op("Div", [sumAll(op("Mul", [op("Sub", [one, giou]), ctrT])), ctrSum]);
  const strides = g.constant(Float32Array.from(loc.stride), [1, n, 1]);
  const l1 = op("Div", [sumAll(op("Mul", [op("Abs", [op("Div", [op("Sub", [ONNX_IO.boxes, tb]), strides])]), g.op("Reshape", [pos, g.i64([b, n, 1])])])), normPos]);
  const box = op("Add", [op("Mul", [giouLoss, g.scalar(w.giou)]), op("Mul", [l1, g.scalar(w.l1)])]);

  const ctrLogit = g.op("Reshape", [ONNX_IO.centerness, g.i64([b, n])]);
  // Objectness (YOLOX) at every location against the positive mask; centerness at positives only.
  const ctr = cfg.quality === "objectness" ? op("Div", [sumAll(bce(ctrLogit, pos)), normPos]) : op("Div", [sumAll(op("Mul", [bce(ctrLogit, ctrT), pos])), normPos]);
  const total = g.op("Add", [op("Add", [cls, box]), op("Mul", [ctr, g.scalar(w.centerness)])], {}, TRAIN_IO.loss);
  return { total, cls: g.op("Identity", [cls], {}, TRAIN_IO.cls), box: g.op("Identity", [box], {}, TRAIN_IO.box), ctr: g.op("Identity", [ctr], {}, TRAIN_IO.ctr), n };
}

/**
 * The graph of one training step of the detector, built from its ONNX export: trainable
 * parameters become inputs (frozen ones stay constants, so they get no gradient subgraph), the loss
 * and its reverse-mode gradients are appended, then (mode "step") global-norm clipping and the AdamW
 * update with the two learning-rate groups, whose new parameters and moments are outputs to feed
 * back next step. Conv weights are in ONNX layout [co, ci, kh, kw] throughout.
 */
export function buildTrainGraph(cfg: ModelConfig, weights: TensorMap, o: TrainGraphOptions): TrainGraph {
  const g = Graph.fromOnnx(exportOnnx(cfg, weights), { batch: o.batch });
  g.outputs.length = 0;
  // Trainable parameters are slices of one flat input, so that the optimizer below is a handful of
  // whole-vector ops instead of a dozen small ones per tensor.
  const { offsets, total } = flatLayout(o.trainable);
  const flat = g.input(TRAIN_IO.params, "float32", [total]);
  const first = g.nodes.length;
  o.trainable.forEach((spec, k) => {
    const shape = g.shape(spec.name);
    if (!g.consts.delete(spec.name)) throw new GraphError(`the exported graph has no initializer "${spec.name}"`);
    g.values.delete(spec.name);
    const n = shape.reduce((a, b) => a * b, 1);
    g.op("Reshape", [g.op("Slice", [flat, g.i64([offsets[k]]), g.i64([offsets[k] + n]), g.i64([0])]), g.i64(shape)], {}, spec.name);
  });
  g.nodes.unshift(...g.nodes.splice(first));
  const parts = addLoss(g, cfg, o.batch, o.lossWeights ?? defaultLossWeights());
  for (const x of [parts.total, parts.cls, parts.box, parts.ctr]) g.output(x);
  const names = o.trainable.map((s) => s.name);
  const grads = buildGradients(g, parts.total, names);
  if (o.mode === "grads") {
    for (const nm of names) g.output(g.op("Identity", [grads.get(nm)!], {}, TRAIN_IO.grad(nm)));
    return { bytes: g.toOnnx("medfcl-grads"), graph: g, n: parts.n };
  }
  const flatGrad = g.op("Concat", names.map((nm) => g.op("Reshape", [grads.get(nm)!, g.i64([-1])])), { axis: { i: 0 } });
  const norm = g.op("Sqrt", [g.op("ReduceSumSquare", [flatGrad], { keepdims: { i: 0 } })], {}, TRAIN_IO.gradNorm);
  g.output(norm);
  const gr = o.gradClip > 0 ? g.op("Mul", [flatGrad, g.op("Min", [g.scalar(1), g.op("Div", [g.scalar(o.gradClip), g.op("Add", [norm, g.scalar(1e-6)])])])]) : flatGrad;
  const bc1 = g.input(TRAIN_IO.bc1, "float32", []);
  const bc2 = g.input(TRAIN_IO.bc2, "float32", []);
  const lr = { base: g.input(TRAIN_IO.lr("base"), "float32", []), text: g.input(TRAIN_IO.lr("text"), "float32", []) };
  const lrWd = { base: g.input(TRAIN_IO.lrWd("base"), "float32", []), text: g.input(TRAIN_IO.lrWd("text"), "float32", []) };
  // Per-element lr and lr·wd: exactly the group's value (x·1 + y·0), 0 for lr·wd where decay is off.
  const textMask = new Float32Array(total);
  const baseMask = new Float32Array(total);
  const decayText = new Float32Array(total);
  const decayBase = new Float32Array(total);
  o.trainable.forEach((spec, k) => {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const text = spec.group === "text";
    (text ? textMask : baseMask).fill(1, offsets[k], offsets[k] + n);
    if (spec.decay) (text ? decayText : decayBase).fill(1, offsets[k], offsets[k] + n);
  });
  const perElem = (x: { base: string; text: string }, mb: Float32Array, mt: Float32Array) =>
    g.op("Add", [g.op("Mul", [x.base, g.constant(mb, [total])]), g.op("Mul", [x.text, g.constant(mt, [total])])]);
  const lrVec = perElem(lr, baseMask, textMask);
  const lrWdVec = perElem(lrWd, decayBase, decayText);
  const m0 = g.input(TRAIN_IO.m, "float32", [total]);
  const v0 = g.input(TRAIN_IO.v, "float32", [total]);
  const m1 = g.op("Add", [g.op("Mul", [m0, g.scalar(ADAM.beta1)]), g.op("Mul", [gr, g.scalar(1 - ADAM.beta1)])], {}, TRAIN_IO.next(TRAIN_IO.m));
  const v1 = g.op("Add", [g.op("Mul", [v0, g.scalar(ADAM.beta2)]), g.op("Mul", [g.op("Mul", [gr, gr]), g.scalar(1 - ADAM.beta2)])], {}, TRAIN_IO.next(TRAIN_IO.v));
  const adam = g.op("Mul", [g.op("Div", [g.op("Div", [m1, bc1]), g.op("Add", [g.op("Sqrt", [g.op("Div", [v1, bc2])]), g.scalar(ADAM.eps)])]), lrVec]);
  const upd = g.op("Add", [adam, g.op("Mul", [flat, lrWdVec])]);
  g.op("Sub", [flat, upd], {}, TRAIN_IO.next(TRAIN_IO.params));
  for (const x of [TRAIN_IO.next(TRAIN_IO.params), m1, v1]) g.output(x);
  return { bytes: g.toOnnx("medfcl-train-step"), graph: g, n: parts.n };
}
