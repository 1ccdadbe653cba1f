import onnxProto from "onnx-proto";
import * as ort from "onnxruntime-node";
import type { CocoDataset } from "../data/index.js";
import type { CocoDetection } from "../eval/types.js";
import type { TensorMap } from "../tensors/index.js";
import { stridesOf } from "./config.js";
import { checkWeights } from "./detector.js";
import { CheckpointError } from "./errors.js";
import { LN_EPS, MASK_NEG, PIXEL_MEAN, PIXEL_STD, REG_CLIP } from "./model.js";
import { isDepthwise, tfToOnnxConv, type GraphAttr } from "./onnx-import.js";
import { paramSpecs } from "./params.js";
import { predictWith, type RawImageOutputs } from "./predict.js";
import type { EncodedCaption } from "./tokenizer.js";
import type { ModelConfig, PredictOptions } from "./types.js";

const { onnx } = onnxProto;
type Attr = onnxProto.onnx.IAttributeProto;

export const ONNX_OPSET = 17;
/** Graph inputs/outputs (documented in docs/model.md). */
export const ONNX_IO = {
  image: "image", // [B, S, S, 3] float32 NHWC in [0,1] (the graph transposes to NCHW itself)
  inputIds: "input_ids", // [B, M] int32
  attentionMask: "attention_mask", // [B, M] float32
  logits: "logits", // [B, N, M]
  boxes: "boxes", // [B, N, 4] l,t,r,b px
  centerness: "centerness", // [B, N, 1] logits
} as const;

/** A tiny ONNX graph builder: constants become initializers, every node gets a fresh output name. */
class GraphBuilder {
  nodes: onnxProto.onnx.INodeProto[] = [];
  inits: onnxProto.onnx.ITensorProto[] = [];
  #n = 0;

  const(name: string, data: Float32Array | number[], dims: number[]): string {
    const f = data instanceof Float32Array ? data : Float32Array.from(data);
    this.inits.push({ name, dataType: onnx.TensorProto.DataType.FLOAT, dims, rawData: new Uint8Array(f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength)) });
    return name;
  }

  ints(name: string, data: number[]): string {
    return this.intsShaped(name, data, [data.length]);
  }

  intsShaped(name: string, data: number[], dims: number[]): string {
    const a = BigInt64Array.from(data.map((v) => BigInt(Math.max(-(2 ** 62), Math.min(2 ** 62, v)))));
    this.inits.push({ name, dataType: onnx.TensorProto.DataType.INT64, dims, rawData: new Uint8Array(a.buffer) });
    return name;
  }

  has(name: string): boolean {
    return this.inits.some((t) => t.name === name);
  }

  scalar(v: number): string {
    return this.const(`const_${this.#n++}`, [v], []);
  }

  node(op: string, inputs: string[], attrs: Attr[] = [], out?: string): string {
    const o = out ?? `${op.toLowerCase()}_${this.#n++}`;
    this.nodes.push({ opType: op, input: inputs, output: [o], name: `${o}_node`, attribute: attrs });
    return o;
  }
}

const A = onnx.AttributeProto.AttributeType;
const ints = (name: string, v: number[]): Attr => ({ name, type: A.INTS, ints: v });
const int = (name: string, v: number): Attr => ({ name, type: A.INT, i: v });
const float = (name: string, v: number): Attr => ({ name, type: A.FLOAT, f: v });
const str = (name: string, v: string): Attr => ({ name, type: A.STRING, s: new TextEncoder().encode(v) });

/**
 * Exports the inference graph (image + prompt tokens → raw logits/boxes/centerness) to ONNX
 * opset 17. Conv weights go from tfjs [kh,kw,ci,co] to ONNX [co,ci,kh,kw]; every pad is explicit.
 * The prompt is an input (token ids + mask), so one file serves any dataset's categories.
 */
type Builder = ReturnType<typeof exportOps>;

/** Graph-building helpers over one model's weights (each tensor becomes an initializer once). */
function exportOps(weights: TensorMap) {
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
function textGraph(b: Builder, cfg: ModelConfig): { tokens: string; maskAdd: string } {
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

function graphAttr(name: string, v: GraphAttr): Attr {
  if (typeof v === "string") return str(name, v);
  if (Array.isArray(v)) return ints(name, v);
  return FLOAT_ATTRS.has(name) ? float(name, v) : int(name, v);
}

/**
 * The grounded detector on an imported backbone: the source graph re-emitted node for node (its
 * NCHW layout is ONNX's own), fed by medfcl's NHWC RGB [0,1] image converted to the source pixel
 * convention, then the alignment head, YOLOX's boxes as l,t,r,b distances, and the objectness.
 */
function groundedGraph(b: Builder, cfg: ModelConfig): void {
  const { g, param, convParam, shape, linear } = b;
  const bb = cfg.backbone!;
  const gr = bb.graph;
  const d = cfg.dModel;
  const m = cfg.maxTokens;
  let x = g.node("Transpose", [ONNX_IO.image], [ints("perm", [0, 3, 1, 2])]);
  if (bb.inputBgr) x = g.node("Gather", [x, g.ints("bgr_index", [2, 1, 0])], [int("axis", 1)]);
  g.node("Mul", [x, g.scalar(bb.inputScale)], [], gr.input);
  for (const [name, c] of Object.entries(gr.consts)) {
    if (c.dtype === "int64") g.intsShaped(name, c.values, c.dims);
    else g.const(name, Float32Array.from(c.values), c.dims);
  }
  for (const n of gr.nodes) {
    const inputs = [...n.inputs];
    if (n.op === "Conv") {
      // Initializers carry medfcl's parameter names, so the export (and the training graph built
      // from it) addresses tensors as checkpoints do.
      inputs[1] = convParam(gr.params[n.inputs[1]].replace(/\.weight$/, ""), undefined, isDepthwise(n));
      inputs[2] = param(gr.params[n.inputs[2]]);
    }
    g.nodes.push({ opType: n.op, input: inputs, output: n.outputs, name: n.name, attribute: Object.entries(n.attrs).map(([k, v]) => graphAttr(k, v)) });
  }
  const { tokens } = textGraph(b, cfg);
  const tokAlignT = g.node("Transpose", [linear(tokens, "align.token_proj")], [ints("perm", [0, 2, 1])]);
  const tokBias = g.node("Reshape", [linear(tokens, "align.token_bias"), shape([-1, 1, m])]);
  const logits: string[] = [];
  const boxes: string[] = [];
  const objs: string[] = [];
  const flat = (t: string, c: number) => g.node("Transpose", [g.node("Reshape", [t, shape([0, c, -1])])], [ints("perm", [0, 2, 1])]);
  for (const l of bb.levels) {
    const o = g.node("Conv", [l.clsFeat, convParam("head.align"), param("head.align.bias")], [ints("kernel_shape", [1, 1]), ints("strides", [1, 1]), ints("pads", [0, 0, 0, 0]), ints("dilations", [1, 1])]);
    logits.push(g.node("Add", [g.node("Mul", [g.node("MatMul", [flat(o, d), tokAlignT]), g.scalar(1 / Math.sqrt(d))]), tokBias]));
    const ch = (i: number) => g.node("Slice", [l.reg, g.ints(`reg_s_${l.stride}_${i}`, [i]), g.ints(`reg_e_${l.stride}_${i}`, [i + 1]), g.ints(`reg_a_${l.stride}_${i}`, [1])]);
    const half = (t: string) => g.node("Mul", [g.node("Exp", [g.node("Clip", [t, g.scalar(-REG_CLIP), g.scalar(REG_CLIP)])]), g.scalar(l.stride / 2)]);
    const off = (t: string) => g.node("Mul", [g.node("Sub", [t, g.scalar(0.5)]), g.scalar(l.stride)]);
    const [dx, dy, hw, hh] = [off(ch(0)), off(ch(1)), half(ch(2)), half(ch(3))];
    const ltrb = g.node("Concat", [g.node("Sub", [hw, dx]), g.node("Sub", [hh, dy]), g.node("Add", [hw, dx]), g.node("Add", [hh, dy])], [int("axis", 1)]);
    boxes.push(flat(ltrb, 4));
    objs.push(flat(l.obj, 1));
  }
  g.node("Concat", logits, [int("axis", 1)], ONNX_IO.logits);
  g.node("Concat", boxes, [int("axis", 1)], ONNX_IO.boxes);
  g.node("Concat", objs, [int("axis", 1)], ONNX_IO.centerness);
}

/**
 * Exports the inference graph (image + prompt tokens → raw logits/boxes/centerness) to ONNX
 * opset 17. Conv weights go from tfjs [kh,kw,ci,co] to ONNX [co,ci,kh,kw]; every pad is explicit.
 * The prompt is an input (token ids + mask), so one file serves any dataset's categories.
 */
export function exportOnnx(cfg: ModelConfig, weights: TensorMap): Uint8Array {
  checkWeights(paramSpecs(cfg), weights);
  const b = exportOps(weights);
  const { g, conv, param, linear, shape, attention } = b;
  const m = cfg.maxTokens;
  const d = cfg.dModel;
  const strides = stridesOf(cfg);
  const sizes = strides.map((s) => cfg.inputSize / s);
  if (cfg.backbone) {
    groundedGraph(b, cfg);
    return finishModel(g, cfg, sizes);
  }
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

  return finishModel(g, cfg, sizes);
}

function finishModel(g: GraphBuilder, cfg: ModelConfig, sizes: number[]): Uint8Array {
  const m = cfg.maxTokens;
  const n = sizes.reduce((a, s) => a + s * s, 0);
  const T = onnx.TensorProto.DataType;
  const vi = (name: string, elem: number, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: elem, shape: { dim: dims.map((v) => (typeof v === "string" ? { dimParam: v } : { dimValue: v })) } } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "medfcl",
    producerVersion: "1",
    opsetImport: [{ domain: "", version: ONNX_OPSET }],
    graph: {
      name: `medfcl-${cfg.size}`,
      node: g.nodes,
      initializer: g.inits,
      input: [
        vi(ONNX_IO.image, T.FLOAT, ["batch", cfg.inputSize, cfg.inputSize, 3]),
        vi(ONNX_IO.inputIds, T.INT32, ["batch", m]),
        vi(ONNX_IO.attentionMask, T.FLOAT, ["batch", m]),
      ],
      output: [vi(ONNX_IO.logits, T.FLOAT, ["batch", n, m]), vi(ONNX_IO.boxes, T.FLOAT, ["batch", n, 4]), vi(ONNX_IO.centerness, T.FLOAT, ["batch", n, 1])],
    },
    metadataProps: [{ key: "medfcl.config", value: JSON.stringify(cfg) }],
  });
  return onnx.ModelProto.encode(model).finish();
}

export interface OnnxDetector {
  predictDataset(ds: CocoDataset, o?: PredictOptions): Promise<CocoDetection[]>;
  /** Raw outputs for a batch of NHWC images (for parity checks and benchmarks). */
  runRaw(images: Float32Array, batch: number, caption: EncodedCaption): Promise<RawImageOutputs[]>;
  close(): Promise<void>;
}

/** Runs an exported model in onnxruntime-node (CPU). `threads` sets intra-op threads. */
export async function createOnnxDetector(model: Uint8Array, cfg: ModelConfig, opts: { threads?: number } = {}): Promise<OnnxDetector> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, {
      executionProviders: ["cpu"],
      intraOpNumThreads: opts.threads ?? 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
    });
  } catch (err) {
    throw new CheckpointError(`onnxruntime cannot load the model: ${(err as Error).message}`, { cause: err });
  }
  const m = cfg.maxTokens;
  const runRaw = async (images: Float32Array, batch: number, caption: EncodedCaption): Promise<RawImageOutputs[]> => {
    const ids = new Int32Array(batch * m);
    const mask = new Float32Array(batch * m);
    for (let i = 0; i < batch; i++) {
      ids.set(caption.ids, i * m);
      mask.set(caption.mask, i * m);
    }
    const feeds = {
      [ONNX_IO.image]: new ort.Tensor("float32", images, [batch, cfg.inputSize, cfg.inputSize, 3]),
      [ONNX_IO.inputIds]: new ort.Tensor("int32", ids, [batch, m]),
      [ONNX_IO.attentionMask]: new ort.Tensor("float32", mask, [batch, m]),
    };
    const out = await session.run(feeds);
    const logits = out[ONNX_IO.logits].data as Float32Array;
    const boxes = out[ONNX_IO.boxes].data as Float32Array;
    const ctr = out[ONNX_IO.centerness].data as Float32Array;
    const n = logits.length / (batch * m);
    return Array.from({ length: batch }, (_, i) => ({
      logits: logits.slice(i * n * m, (i + 1) * n * m),
      boxes: boxes.slice(i * n * 4, (i + 1) * n * 4),
      centerness: ctr.slice(i * n, (i + 1) * n),
    }));
  };
  return {
    predictDataset: (ds, o) => predictWith(cfg, ds, runRaw, o),
    runRaw,
    close: async () => {
      await session.release();
    },
  };
}
