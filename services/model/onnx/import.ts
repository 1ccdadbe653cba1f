import type onnxProto from "onnx-proto";
import type { TensorMap } from "../../tensors/index.js";
import { CheckpointError, ModelOptionError } from "../core/errors.js";
import { onnxToTfConv } from "./layout.js";
import { CODE_DTYPE, decodeAttr, decodeModel, decodeTensor } from "./proto.js";

/**
 * The ops medfcl can import from an ONNX graph into trainable tfjs (and export back). Anything else
 * is refused by name, so a new backbone fails at import rather than at the first training step.
 */
export const IMPORTABLE_OPS = ["Conv", "Sigmoid", "Mul", "Add", "Concat", "Slice", "MaxPool", "Resize", "Reshape", "Transpose", "Relu", "Constant"] as const;
export type ImportableOp = (typeof IMPORTABLE_OPS)[number];

/**
 * An imported attribute as stored: a plain JSON value, because the graph lives inside ModelConfig (so
 * inside configHash and every checkpoint). In memory, export and training use proto.ts's tagged
 * `Attr`; builder.ts's `graphAttr` converts.
 */
export type GraphAttr = number | number[] | string;

export interface GraphNode {
  op: ImportableOp;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, GraphAttr>;
}

/** A small constant of the source graph (Slice bounds, Resize scales, Reshape shapes, scalars). */
export interface GraphConst {
  dims: number[];
  values: number[];
  dtype: "float32" | "int64";
}

/**
 * An imported ONNX graph without its trainable tensors: JSON-serialisable, so it travels inside the
 * model config (and so inside every checkpoint), and a checkpoint alone rebuilds the model.
 */
export interface ImportedGraph {
  /** The image input (NCHW in the source graph). */
  input: string;
  inputChannels: number;
  nodes: GraphNode[];
  consts: Record<string, GraphConst>;
  /** Source tensor name of each trainable tensor → its medfcl parameter name. */
  params: Record<string, string>;
}

export interface ImportResult {
  graph: ImportedGraph;
  /** Trainable tensors by medfcl name, in tfjs layout (conv [kh,kw,ci,co]; depthwise [kh,kw,c,1]). */
  weights: TensorMap;
  /** The source graph's outputs. */
  outputs: string[];
}

function attrValue(a: onnxProto.onnx.IAttributeProto): GraphAttr {
  const v = decodeAttr(a);
  if (!v) throw new CheckpointError(`ONNX attribute "${a.name}" has type ${String(a.type)}, which medfcl does not import`, { details: { attribute: a.name } });
  if ("i" in v) return v.i;
  if ("f" in v) return v.f;
  if ("ints" in v) return v.ints;
  if ("floats" in v) return v.floats;
  return v.s;
}

/** Values of an initializer or Constant tensor as plain numbers (float32, int64 or int32). */
function tensorValues(t: onnxProto.onnx.ITensorProto): number[] {
  const c = decodeTensor(t);
  // Bounds such as INT64_MAX only need to stay "larger than any dimension" as numbers.
  if (c && c.dtype !== "bool") return Array.from(c.data as ArrayLike<number | bigint>, (v) => Number(v));
  throw new CheckpointError(`ONNX tensor "${t.name}" has data type ${String(t.dataType)}; medfcl imports float32, int64 and int32`, { details: { tensor: t.name } });
}

function constOf(t: onnxProto.onnx.ITensorProto): GraphConst {
  return { dims: (t.dims ?? []).map(Number), values: tensorValues(t), dtype: CODE_DTYPE.get(t.dataType ?? 0) === "float32" ? "float32" : "int64" };
}

function floatData(t: onnxProto.onnx.ITensorProto): Float32Array {
  if (CODE_DTYPE.get(t.dataType ?? 0) !== "float32") throw new CheckpointError(`ONNX weight "${t.name}" is not float32`, { details: { tensor: t.name } });
  return Float32Array.from(tensorValues(t));
}

/** A conv node is depthwise when every output channel sees exactly one input channel. */
export function isDepthwise(node: GraphNode): boolean {
  return node.op === "Conv" && Number(node.attrs.group ?? 1) > 1;
}

/**
 * Reads an ONNX model into an ImportedGraph plus named trainable tensors. Conv weights and biases
 * become parameters `${prefix}.${nodeName}.weight|bias`; every other initializer becomes a constant.
 * Unsupported ops, grouped convs other than depthwise, dilations and non-float weights are refused
 * by name.
 */
export function importOnnx(bytes: Uint8Array, prefix: string, source = "ONNX model"): ImportResult {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = decodeModel(bytes);
  } catch (err) {
    throw new CheckpointError(`${source} is not an ONNX model: ${(err as Error).message}`, { cause: err, details: { file: source } });
  }
  const g = model.graph;
  if (!g || !g.node || g.node.length === 0) throw new CheckpointError(`${source} has no graph`, { details: { file: source } });
  const unsupported = [...new Set(g.node.map((n) => n.opType ?? "").filter((op) => !(IMPORTABLE_OPS as readonly string[]).includes(op)))];
  if (unsupported.length > 0) {
    throw new ModelOptionError(
      "onnx",
      `${source} uses ONNX op${unsupported.length > 1 ? "s" : ""} ${unsupported.join(", ")}, which medfcl cannot import; supported: ${IMPORTABLE_OPS.join(", ")}`,
    );
  }
  const inits = new Map((g.initializer ?? []).map((t) => [t.name ?? "", t]));
  const initNames = new Set(inits.keys());
  const realInputs = (g.input ?? []).filter((i) => !initNames.has(i.name ?? ""));
  if (realInputs.length !== 1) throw new ModelOptionError("onnx", `${source} must have exactly one image input, found ${realInputs.map((i) => i.name).join(", ") || "none"}`);
  const input = realInputs[0];
  const dims = input.type?.tensorType?.shape?.dim ?? [];
  const inputChannels = Number(dims[1]?.dimValue ?? 3);

  const nodes: GraphNode[] = [];
  const consts: Record<string, GraphConst> = {};
  const params: Record<string, string> = {};
  const weights: TensorMap = new Map();
  g.node.forEach((n, idx) => {
    const name = n.name && n.name.length > 0 ? n.name : `${n.opType}_${idx}`;
    const attrs: Record<string, GraphAttr> = {};
    for (const a of n.attribute ?? []) {
      if (a.name === "value" && n.opType === "Constant" && a.t) {
        consts[n.output![0]] = constOf(a.t);
        continue;
      }
      attrs[a.name ?? ""] = attrValue(a);
    }
    const node: GraphNode = { op: n.opType as ImportableOp, name, inputs: [...(n.input ?? [])], outputs: [...(n.output ?? [])], attrs };
    if (node.op === "Constant") return;
    if (node.op === "Conv") {
      const dil = (attrs.dilations as number[] | undefined) ?? [1, 1];
      if (dil.some((d) => d !== 1)) throw new ModelOptionError("onnx", `${source}: Conv ${name} is dilated (${dil.join("x")}); medfcl imports dilation 1 only`);
      const w = inits.get(node.inputs[1]);
      if (!w) throw new ModelOptionError("onnx", `${source}: Conv ${name} takes its weight from "${node.inputs[1]}", which is not an initializer`);
      const wd = (w.dims ?? []).map(Number);
      const group = Number(attrs.group ?? 1);
      const depthwise = group > 1;
      if (depthwise && !(wd[1] === 1 && group === wd[0])) {
        throw new ModelOptionError("onnx", `${source}: Conv ${name} has group=${group} with weight [${wd.join(",")}]; medfcl imports group 1 or depthwise (group = channels, multiplier 1) only`);
      }
      const conv = onnxToTfConv(floatData(w), wd, depthwise);
      const wName = `${prefix}.${name}.weight`;
      params[node.inputs[1]] = wName;
      weights.set(wName, { dtype: "float32", shape: conv.shape, data: conv.data });
      const b = node.inputs[2] ? inits.get(node.inputs[2]) : undefined;
      const bName = `${prefix}.${name}.bias`;
      if (b) {
        params[node.inputs[2]] = bName;
        weights.set(bName, { dtype: "float32", shape: [wd[0]], data: floatData(b) });
      } else {
        // A bias of zeros keeps every conv the same shape of parameter set.
        node.inputs[2] = `${name}__bias`;
        params[node.inputs[2]] = bName;
        weights.set(bName, { dtype: "float32", shape: [wd[0]], data: new Float32Array(wd[0]) });
      }
    } else {
      for (const i of node.inputs) {
        const t = inits.get(i);
        if (t && !consts[i]) consts[i] = constOf(t);
      }
    }
    nodes.push(node);
  });
  return {
    graph: { input: input.name ?? "images", inputChannels, nodes, consts, params },
    weights,
    outputs: (g.output ?? []).map((o) => o.name ?? ""),
  };
}

/** The nodes needed to compute `outputs` (in the source order), and nothing else. */
export function pruneGraph(graph: ImportedGraph, outputs: string[]): ImportedGraph {
  const producer = new Map<string, GraphNode>();
  for (const n of graph.nodes) for (const o of n.outputs) producer.set(o, n);
  const keep = new Set<GraphNode>();
  const stack = [...outputs];
  while (stack.length > 0) {
    const t = stack.pop()!;
    const n = producer.get(t);
    if (!n || keep.has(n)) continue;
    keep.add(n);
    stack.push(...n.inputs.filter((i) => i !== ""));
  }
  const nodes = graph.nodes.filter((n) => keep.has(n));
  const used = new Set(nodes.flatMap((n) => n.inputs));
  const consts = Object.fromEntries(Object.entries(graph.consts).filter(([k]) => used.has(k)));
  const params = Object.fromEntries(Object.entries(graph.params).filter(([k]) => used.has(k)));
  return { ...graph, nodes, consts, params };
}
