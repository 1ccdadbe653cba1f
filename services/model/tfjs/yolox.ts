import { createHash } from "node:crypto";
import type { TensorMap } from "../../tensors/index.js";
import { tf } from "./backend.js";
import { ModelOptionError } from "../core/errors.js";
import { runGraph, tensorStrides } from "./graph-run.js";
import { REG_CLIP } from "../core/constants.js";
import { convLayer, encodeText, linear, type ParamLookup, type RawOutputs } from "./model.js";
import { importOnnx, pruneGraph, type GraphNode, type ImportedGraph } from "../onnx/import.js";
import type { BackboneLevel, ImportedBackbone, ModelConfig, ParamGroup } from "../core/types.js";

export type { BackboneLevel, ImportedBackbone } from "../core/types.js";


function producerMap(nodes: GraphNode[]): Map<string, number> {
  const m = new Map<string, number>();
  nodes.forEach((n, i) => n.outputs.forEach((o) => m.set(o, i)));
  return m;
}

function ancestors(nodes: GraphNode[], producer: Map<string, number>, tensor: string): Set<number> {
  const seen = new Set<number>();
  const stack = [tensor];
  while (stack.length > 0) {
    const i = producer.get(stack.pop()!);
    if (i === undefined || seen.has(i)) continue;
    seen.add(i);
    stack.push(...nodes[i].inputs);
  }
  return seen;
}

/** The nearest Conv at or above node i along first inputs (through activations). */
function convAbove(nodes: GraphNode[], producer: Map<string, number>, i: number | undefined): number {
  let j = i;
  while (j !== undefined && nodes[j].op !== "Conv") j = producer.get(nodes[j].inputs[0]);
  if (j === undefined) throw new ModelOptionError("onnx", "the graph does not have YOLOX's structure (no conv above a head stem or the first Resize)");
  return j;
}

/**
 * Finds YOLOX's decoupled-head levels and the freeze groups in an imported graph:
 * - level k's class/box/objectness convs are the ones whose weights are named
 *   `head.{cls,reg,obj}_preds.k.weight` in the source file;
 * - the neck (PAFPN) starts at the conv feeding the first Resize (YOLOX's lateral_conv0); every
 *   conv before it is backbone, grouped by output stride: 2 stem, 4 stage1 (dark2), 8 stage2
 *   (dark3), 16 stage3 (dark4), 32 stage4 (dark5);
 * - the head starts at the earliest per-level head stem: the last node that both the class and the
 *   box branch of a level descend from.
 */
export function analyzeYolox(graph: ImportedGraph, weightShapes: Map<string, number[]>): { levels: BackboneLevel[]; groupOfNode: Map<number, ParamGroup>; embed: string } {
  const nodes = graph.nodes;
  const producer = producerMap(nodes);
  const bySource = new Map<string, number>();
  nodes.forEach((n, i) => {
    if (n.op === "Conv") bySource.set(n.inputs[1], i);
  });
  const strides = tensorStrides(graph);
  const levels: BackboneLevel[] = [];
  const headStarts: number[] = [];
  for (let k = 0; ; k++) {
    const cls = bySource.get(`head.cls_preds.${k}.weight`);
    const reg = bySource.get(`head.reg_preds.${k}.weight`);
    const obj = bySource.get(`head.obj_preds.${k}.weight`);
    if (cls === undefined || reg === undefined || obj === undefined) break;
    const clsIn = nodes[cls].inputs[0];
    const a = ancestors(nodes, producer, clsIn);
    const b = ancestors(nodes, producer, nodes[reg].inputs[0]);
    const common = [...a].filter((i) => b.has(i));
    const stem = Math.max(...common);
    // The head stem's first node is the conv that starts its conv→sigmoid→mul chain.
    headStarts.push(convAbove(nodes, producer, stem));
    const wShape = weightShapes.get(graph.params[nodes[cls].inputs[1]])!;
    levels.push({ stride: strides.get(nodes[reg].outputs[0]) ?? 0, clsFeat: clsIn, clsChannels: wShape[2], reg: nodes[reg].outputs[0], obj: nodes[obj].outputs[0] });
  }
  if (levels.length === 0) throw new ModelOptionError("onnx", "no YOLOX decoupled head found (no conv weights named head.cls_preds.0/reg_preds.0/obj_preds.0)");
  const firstResize = nodes.findIndex((n) => n.op === "Resize");
  if (firstResize < 0) throw new ModelOptionError("onnx", "no Resize in the graph: cannot find where the neck (PAFPN) starts");
  const neck = convAbove(nodes, producer, producer.get(nodes[firstResize].inputs[0]));
  const headStart = Math.min(...headStarts);
  const stageOf: Record<number, ParamGroup> = { 2: "stem", 4: "stage1", 8: "stage2", 16: "stage3", 32: "stage4" };
  const groupOfNode = new Map<number, ParamGroup>();
  nodes.forEach((n, i) => {
    if (n.op !== "Conv") return;
    if (i >= headStart) groupOfNode.set(i, "head");
    else if (i >= neck) groupOfNode.set(i, "fpn");
    else {
      const g = stageOf[strides.get(n.outputs[0]) ?? 0];
      if (!g) throw new ModelOptionError("onnx", `backbone conv ${n.name} has output stride ${strides.get(n.outputs[0])}, outside 2..32`);
      groupOfNode.set(i, g);
    }
  });
  const embed = nodes[neck].inputs[0];
  return { levels: levels.sort((x, y) => x.stride - y.stride), groupOfNode, embed };
}

/**
 * Imports a YOLOX ONNX file as the image side of a grounded detector: returns the backbone record
 * (which goes into the model config) and its pretrained tensors. The source class convs
 * (80 COCO logits) are dropped: region–word alignment replaces them.
 */
export function importYolox(bytes: Uint8Array, name: string, source: string): { backbone: ImportedBackbone; weights: TensorMap } {
  const imported = importOnnx(bytes, "image", source);
  const shapes = new Map([...imported.weights].map(([k, t]) => [k, t.shape]));
  const { levels, groupOfNode, embed } = analyzeYolox(imported.graph, shapes);
  const all = imported.graph;
  const groupOfParam = new Map<string, ParamGroup>();
  all.nodes.forEach((n, i) => {
    const g = groupOfNode.get(i);
    if (g) for (const src of n.inputs.slice(1)) if (all.params[src]) groupOfParam.set(all.params[src], g);
  });
  const graph = pruneGraph(all, [...levels.flatMap((l) => [l.clsFeat, l.reg, l.obj]), embed]);
  const params: ImportedBackbone["params"] = {};
  const weights: TensorMap = new Map();
  for (const n of graph.nodes) {
    for (const src of n.inputs.slice(1)) {
      const p = graph.params[src];
      if (!p || params[p]) continue;
      const t = imported.weights.get(p)!;
      params[p] = { shape: t.shape, group: groupOfParam.get(p)! };
      weights.set(p, t);
    }
  }
  return {
    backbone: {
      name,
      sourceSha256: createHash("sha256").update(bytes).digest("hex"),
      inputScale: 255,
      inputBgr: true,
      graph,
      levels,
      params,
      embed,
      embedChannels: embedChannelsOf(graph, embed, shapes),
    },
    weights,
  };
}

/** Channels of a tensor produced by a Conv (or by elementwise ops on one). */
function embedChannelsOf(graph: ImportedGraph, tensor: string, shapes: Map<string, number[]>): number {
  const producer = producerMap(graph.nodes);
  let i = producer.get(tensor);
  while (i !== undefined) {
    const n = graph.nodes[i];
    if (n.op === "Conv") {
      const shape = shapes.get(graph.params[n.inputs[1]])!;
      return Number(n.attrs.group ?? 1) > 1 ? shape[2] : shape[3];
    }
    i = producer.get(n.inputs[0]);
  }
  throw new ModelOptionError("onnx", `cannot tell the channels of "${tensor}"`);
}

/** The pixel convention of the source model, from medfcl's NHWC RGB in [0,1]. */
export function toSourcePixels(bb: ImportedBackbone, images: tf.Tensor4D): tf.Tensor4D {
  if (!bb.inputBgr) return bb.inputScale === 1 ? images : (tf.mul(images, bb.inputScale) as tf.Tensor4D);
  // Channel flip and scale as one [3×3] matMul: wasm's Reverse and SplitV are slow generic loops.
  const [b, h, w] = images.shape;
  const k = bb.inputScale;
  const flip = tf.tensor2d([0, 0, k, 0, k, 0, k, 0, 0], [3, 3]);
  return tf.reshape(tf.matMul(tf.reshape(images, [-1, 3]), flip), [b, h, w, 3]);
}

/**
 * YOLOX box regression at a location → l, t, r, b distances from medfcl's location centre
 * ((gx + 0.5)·s): the box centre is (x + gx)·s and its width exp(log w)·s, so
 * l = (0.5 − x)·s + w/2 and r = (x − 0.5)·s + w/2 (likewise t, b). Distances may be negative when the
 * predicted box does not contain the location; the loss and decoder handle that.
 */
export function yoloxDistances(reg: tf.Tensor4D, stride: number): tf.Tensor4D {
  const [x, y, lw, lh] = tf.split(reg, 4, 3);
  const w = tf.mul(tf.exp(tf.clipByValue(lw, -REG_CLIP, REG_CLIP)), stride / 2);
  const h = tf.mul(tf.exp(tf.clipByValue(lh, -REG_CLIP, REG_CLIP)), stride / 2);
  const dx = tf.mul(tf.sub(x, 0.5), stride);
  const dy = tf.mul(tf.sub(y, 0.5), stride);
  return tf.concat([tf.sub(w, dx), tf.sub(h, dy), tf.add(w, dx), tf.add(h, dy)], 3) as tf.Tensor4D;
}

/** Image features of the imported graph at every level plus the embedding tensor. */
export function backboneOutputs(cfg: ModelConfig, p: ParamLookup, images: tf.Tensor4D, extra: string[] = []): Map<string, tf.Tensor> {
  const bb = cfg.backbone!;
  return runGraph(bb.graph, p, toSourcePixels(bb, images), [...bb.levels.flatMap((l) => [l.clsFeat, l.reg, l.obj]), ...extra]);
}

/** The deepest backbone feature map (NHWC), for replay samplers' embeddings. */
export function backboneEmbedding(cfg: ModelConfig, p: ParamLookup, images: tf.Tensor4D): tf.Tensor4D {
  const bb = cfg.backbone!;
  return runGraph(pruneGraph(bb.graph, [bb.embed]), p, toSourcePixels(bb, images), [bb.embed]).get(bb.embed) as tf.Tensor4D;
}

/** The grounded detector on an imported backbone: S = O·Pᵀ/√d + bias, YOLOX boxes and objectness. */
export function groundedForward(cfg: ModelConfig, p: ParamLookup, images: tf.Tensor4D, ids: tf.Tensor2D, mask: tf.Tensor2D): RawOutputs {
  const bb = cfg.backbone!;
  const feats = backboneOutputs(cfg, p, images);
  const tokens = encodeText(cfg, p, ids, mask);
  const b = images.shape[0];
  const d = cfg.dModel;
  const tokAlignT = tf.transpose(linear(tokens, p, "align.token_proj"), [0, 2, 1]);
  const tokBias = tf.reshape(linear(tokens, p, "align.token_bias"), [b, 1, -1]);
  const logits: tf.Tensor[] = [];
  const boxes: tf.Tensor[] = [];
  const obj: tf.Tensor[] = [];
  for (const l of bb.levels) {
    const o = tf.reshape(convLayer(feats.get(l.clsFeat) as tf.Tensor4D, p, "head.align", 1, false), [b, -1, d]);
    logits.push(tf.add(tf.mul(tf.matMul(o, tokAlignT), 1 / Math.sqrt(d)), tokBias));
    boxes.push(tf.reshape(yoloxDistances(feats.get(l.reg) as tf.Tensor4D, l.stride), [b, -1, 4]));
    obj.push(tf.reshape(feats.get(l.obj)!, [b, -1, 1]));
  }
  return { logits: tf.concat(logits, 1) as tf.Tensor3D, boxes: tf.concat(boxes, 1) as tf.Tensor3D, centerness: tf.concat(obj, 1) as tf.Tensor3D };
}
