// The ONNX graph builder the model families write their inference graphs with. It loads neither
// tfjs nor onnxruntime: constants become initializers, conv weights go from tfjs [kh,kw,ci,co] to
// ONNX [co,ci,kh,kw], every pad is explicit.
import type { TensorMap } from "../../tensors/index.js";
import { LN_EPS, MASK_NEG } from "../core/constants.js";
import type { ModelConfig } from "../core/types.js";
import type { GraphAttr } from "./import.js";
import { tfToOnnxConv } from "./layout.js";
import { encodeModel, valueInfo, type Attr, type ConstTensor, type GNode } from "./proto.js";

/** A named attribute, as the families write them: `ints("perm", [0, 2, 1])`. */
type NamedAttr = [string, Attr];

/** Graph inputs/outputs (documented in docs/model.md). */
export const ONNX_IO = {
  image: "image", // [B, S, S, 3] float32 NHWC in [0,1] (the graph transposes to NCHW itself)
  inputIds: "input_ids", // [B, M] int32
  attentionMask: "attention_mask", // [B, M] float32
  logits: "logits", // [B, N, M]
  boxes: "boxes", // [B, N, 4] l,t,r,b px
  centerness: "centerness", // [B, N, 1] logits
} as const;

/**
 * The export's graph under construction, in proto.ts's representation: constants become
 * initializers, every node gets a fresh output name. No shape inference (onnx/graph.ts has it):
 * the batch dimension stays symbolic here.
 */
class GraphBuilder {
  nodes: GNode[] = [];
  inits: [string, ConstTensor][] = [];
  #n = 0;

  const(name: string, data: Float32Array | number[], dims: number[]): string {
    // A copy: the initializer must not alias a weight the caller may change afterwards.
    const f = data instanceof Float32Array ? data.slice() : Float32Array.from(data);
    this.inits.push([name, { dtype: "float32", shape: dims, data: f }]);
    return name;
  }

  ints(name: string, data: number[]): string {
    return this.intsShaped(name, data, [data.length]);
  }

  intsShaped(name: string, data: number[], dims: number[]): string {
    const a = BigInt64Array.from(data.map((v) => BigInt(Math.max(-(2 ** 62), Math.min(2 ** 62, v)))));
    this.inits.push([name, { dtype: "int64", shape: dims, data: a }]);
    return name;
  }

  has(name: string): boolean {
    return this.inits.some(([n]) => n === name);
  }

  scalar(v: number): string {
    return this.const(`const_${this.#n++}`, [v], []);
  }

  node(op: string, inputs: string[], attrs: NamedAttr[] = [], out?: string): string {
    const o = out ?? `${op.toLowerCase()}_${this.#n++}`;
    this.nodes.push({ op, inputs, outputs: [o], name: `${o}_node`, attrs: Object.fromEntries(attrs) });
    return o;
  }
}

export const ints = (name: string, v: number[]): NamedAttr => [name, { ints: v }];
export const int = (name: string, v: number): NamedAttr => [name, { i: v }];
export const float = (name: string, v: number): NamedAttr => [name, { f: v }];
export const str = (name: string, v: string): NamedAttr => [name, { s: v }];

/** The helpers a family's `exportGraph` writes its graph with. */
export type ExportBuilder = ReturnType<typeof exportOps>;

/** Graph-building helpers over one model's weights (each tensor becomes an initializer once). */
export function exportOps(weights: TensorMap) {
  const g = new GraphBuilder();
  const W = (name: string) => weights.get(name)!;
  const added = new Set<string>();
  const param = (name: string): string => {
    if (!added.has(name)) {
      const t = W(name);
      g.const(name, t.data, t.shape);
      added.add(name);
    }
    return name;
  };
  const convParam = (name: string, as = `${name}.weight`, depthwise = false): string => {
    if (!added.has(as)) {
      const t = W(`${name}.weight`);
      const o = tfToOnnxConv(t.data, t.shape, depthwise);
      g.const(as, o.data, o.dims);
      added.add(as);
    }
    return as;
  };
  const conv = (x: string, name: string, stride: number, relu: boolean): string => {
    const k = W(`${name}.weight`).shape[0];
    const p = (k - 1) / 2;
    const y = g.node("Conv", [x, convParam(name), param(`${name}.bias`)], [ints("kernel_shape", [k, k]), ints("strides", [stride, stride]), ints("pads", [p, p, p, p]), ints("dilations", [1, 1])]);
    return relu ? g.node("Relu", [y]) : y;
  };
  const linear = (x: string, name: string): string => g.node("Add", [g.node("MatMul", [x, param(`${name}.weight`)]), param(`${name}.bias`)]);
  const layerNorm = (x: string, name: string): string =>
    g.node("LayerNormalization", [x, param(`${name}.gamma`), param(`${name}.beta`)], [int("axis", -1), float("epsilon", LN_EPS)]);
  const shape = (v: number[]) => g.ints(`shape_${g.inits.length}`, v);
  const attention = (q: string, kv: string, qLen: number | -1, kvLen: number | -1, maskAdd: string | null, name: string, d: number, heads: number): string => {
    const dh = d / heads;
    const split = (t: string, len: number, perm: number[]) => g.node("Transpose", [g.node("Reshape", [t, shape([0, len, heads, dh])])], [ints("perm", perm)]);
    const qh = split(linear(q, `${name}.q`), qLen, [0, 2, 1, 3]);
    const khT = split(linear(kv, `${name}.k`), kvLen, [0, 2, 3, 1]);
    const vh = split(linear(kv, `${name}.v`), kvLen, [0, 2, 1, 3]);
    let scores = g.node("Mul", [g.node("MatMul", [qh, khT]), g.scalar(1 / Math.sqrt(dh))]);
    if (maskAdd) scores = g.node("Add", [scores, maskAdd]);
    const ctx = g.node("MatMul", [g.node("Softmax", [scores], [int("axis", -1)]), vh]);
    const merged = g.node("Reshape", [g.node("Transpose", [ctx], [ints("perm", [0, 2, 1, 3])]), shape([0, qLen, d])]);
    return linear(merged, `${name}.o`);
  };
  return { g, W, param, convParam, conv, linear, layerNorm, shape, attention };
}

/** Token features [B, M, d] and the additive attention mask, as in encodeText. */
export function textGraph(b: ExportBuilder, cfg: ModelConfig): { tokens: string; maskAdd: string } {
  const { g, param, linear, layerNorm, shape, attention } = b;
  const m = cfg.maxTokens;
  const maskAdd = g.node("Reshape", [g.node("Mul", [g.node("Sub", [g.scalar(1), ONNX_IO.attentionMask]), g.scalar(MASK_NEG)]), shape([-1, 1, 1, m])]);
  let h = g.node("Gather", [param("text.token_embed"), ONNX_IO.inputIds], [int("axis", 0)]);
  h = g.node("Add", [h, param("text.pos_embed")]);
  for (let l = 0; l < cfg.textLayers; l++) {
    const pre = `text.layer${l}`;
    const n1 = layerNorm(h, `${pre}.ln1`);
    h = g.node("Add", [h, attention(n1, n1, m, m, maskAdd, `${pre}.attn`, cfg.textDim, cfg.textHeads)]);
    const f = linear(g.node("Relu", [linear(layerNorm(h, `${pre}.ln2`), `${pre}.ffn.fc1`)]), `${pre}.ffn.fc2`);
    h = g.node("Add", [h, f]);
  }
  return { tokens: linear(layerNorm(h, "text.ln_f"), "text.proj"), maskAdd };
}

/** ONNX attributes stored as plain numbers at import that are floats (every other number is an int). */
const FLOAT_ATTRS = new Set(["cubic_coeff_a", "extrapolation_value", "alpha", "beta", "epsilon"]);

/** An imported graph's attribute (stored as a plain value) in the tagged form. */
export function graphAttr(name: string, v: GraphAttr): Attr {
  if (typeof v === "string") return { s: v };
  if (Array.isArray(v)) return { ints: v };
  return FLOAT_ATTRS.has(name) ? { f: v } : { i: v };
}

/** Wraps the nodes and initializers as an opset-17 model with medfcl's inputs, outputs and config. */
export function finishModel(g: GraphBuilder, cfg: ModelConfig, sizes: number[]): Uint8Array {
  const m = cfg.maxTokens;
  const n = sizes.reduce((a, s) => a + s * s, 0);
  return encodeModel({
    name: `medfcl-${cfg.size}`,
    nodes: g.nodes,
    initializers: g.inits,
    inputs: [
      valueInfo(ONNX_IO.image, "float32", ["batch", cfg.inputSize, cfg.inputSize, 3]),
      valueInfo(ONNX_IO.inputIds, "int32", ["batch", m]),
      valueInfo(ONNX_IO.attentionMask, "float32", ["batch", m]),
    ],
    outputs: [valueInfo(ONNX_IO.logits, "float32", ["batch", n, m]), valueInfo(ONNX_IO.boxes, "float32", ["batch", n, 4]), valueInfo(ONNX_IO.centerness, "float32", ["batch", n, 1])],
    metadata: { "medfcl.config": JSON.stringify(cfg) },
  });
}
