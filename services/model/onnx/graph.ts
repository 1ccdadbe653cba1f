// The static-shape layer over proto.ts's graph representation: every node's output shapes are
// inferred as it is added, which the gradient builder (training/ort/grad.ts) needs.
import { GraphError, UnsupportedOpError } from "../core/errors.js";
import { CODE_DTYPE, decodeAttr, decodeModel, decodeTensor, encodeModel, valueInfo, type Attr, type ConstData, type ConstTensor, type DType, type GNode, type ValueInfo } from "./proto.js";

export type { Attr, ConstData, ConstTensor, DType, GNode, ValueInfo } from "./proto.js";

export const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

export function attrInt(n: GNode, name: string, def: number): number {
  const a = n.attrs[name];
  return a && "i" in a ? a.i : def;
}
export function attrFloat(n: GNode, name: string, def: number): number {
  const a = n.attrs[name];
  return a && "f" in a ? a.f : def;
}
export function attrInts(n: GNode, name: string, def: number[] | null): number[] | null {
  const a = n.attrs[name];
  return a && "ints" in a ? a.ints : def;
}
export function attrStr(n: GNode, name: string, def: string): string {
  const a = n.attrs[name];
  return a && "s" in a ? a.s : def;
}

/** numpy broadcasting of two shapes. */
export function broadcastShapes(a: readonly number[], b: readonly number[], where: string): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new GraphError(`${where}: shapes [${a.join(",")}] and [${b.join(",")}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);

/**
 * A static-shape ONNX graph under construction: every node's output shapes are inferred when it
 * is added, so gradient rules can reason about broadcasting and strides at build time (the training
 * graph is built per batch size).
 */
export class Graph {
  readonly nodes: GNode[] = [];
  readonly values = new Map<string, ValueInfo>();
  readonly consts = new Map<string, ConstTensor>();
  readonly producer = new Map<string, GNode>();
  readonly inputs: string[] = [];
  readonly outputs: string[] = [];
  #n = 0;
  #scalars = new Map<number, string>();

  fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.#n++}`;
    while (this.values.has(name));
    return name;
  }

  info(name: string): ValueInfo {
    const v = this.values.get(name);
    if (!v) throw new GraphError(`the graph has no value "${name}"`);
    return v;
  }

  shape(name: string): number[] {
    return this.info(name).shape;
  }

  input(name: string, dtype: DType, shape: number[]): string {
    if (this.values.has(name)) throw new GraphError(`value "${name}" is defined twice`);
    this.values.set(name, { dtype, shape: [...shape] });
    this.inputs.push(name);
    return name;
  }

  output(name: string): void {
    this.info(name);
    if (!this.outputs.includes(name)) this.outputs.push(name);
  }

  constant(data: ConstData, shape: number[], dtype: DType = "float32", name?: string): string {
    const n = name ?? this.fresh("const");
    if (this.values.has(n)) throw new GraphError(`value "${n}" is defined twice`);
    if (data.length !== numel(shape)) throw new GraphError(`constant "${n}": ${data.length} values for shape [${shape.join(",")}]`);
    this.values.set(n, { dtype, shape: [...shape] });
    this.consts.set(n, { dtype, shape: [...shape], data });
    return n;
  }

  /** A float32 scalar constant (shared between uses). */
  scalar(v: number): string {
    let n = this.#scalars.get(v);
    if (!n) {
      n = this.constant(Float32Array.of(v), []);
      this.#scalars.set(v, n);
    }
    return n;
  }

  i64(v: number[]): string {
    return this.constant(BigInt64Array.from(v.map((x) => BigInt(x))), [v.length], "int64");
  }

  /** A constant's values as numbers (for shapes, axes, scales), or null when `name` is computed. */
  constNumbers(name: string): number[] | null {
    const c = this.consts.get(name);
    if (!c) return null;
    return Array.from(c.data as ArrayLike<number | bigint>, (v) => Number(v));
  }

  /** Appends a node (outputs get fresh names unless given) and infers its output shapes. */
  add(op: string, inputs: string[], attrs: Record<string, Attr> = {}, nOut = 1, outNames?: string[]): string[] {
    const outputs = outNames ?? Array.from({ length: nOut }, () => this.fresh(op.toLowerCase()));
    const node: GNode = { op, name: `${outputs[0]}_node`, inputs, outputs, attrs };
    this.addNode(node);
    return outputs;
  }

  op(op: string, inputs: string[], attrs: Record<string, Attr> = {}, outName?: string): string {
    return this.add(op, inputs, attrs, 1, outName ? [outName] : undefined)[0];
  }

  addNode(node: GNode): void {
    for (const i of node.inputs) if (i !== "") this.info(i);
    const infos = inferShapes(this, node);
    node.outputs.forEach((o, k) => {
      if (o === "") return;
      if (this.values.has(o)) throw new GraphError(`value "${o}" is defined twice (node ${node.name})`);
      this.values.set(o, infos[k]);
      this.producer.set(o, node);
    });
    this.nodes.push(node);
  }

  /** Adds optional outputs to an existing node (e.g. LayerNormalization's Mean/InvStdDev for its gradient). */
  extendOutputs(node: GNode, count: number): string[] {
    while (node.outputs.length < count) node.outputs.push("");
    const infos = inferShapes(this, node);
    node.outputs = node.outputs.map((o, k) => {
      if (o !== "") return o;
      const n = this.fresh(`${node.op.toLowerCase()}_out${k}`);
      this.values.set(n, infos[k]);
      this.producer.set(n, node);
      return n;
    });
    return node.outputs;
  }

  toOnnx(name = "medfcl-train"): Uint8Array {
    const vi = (n: string) => valueInfo(n, this.info(n).dtype, this.info(n).shape);
    return encodeModel({ name, nodes: this.nodes, initializers: this.consts, inputs: this.inputs.map(vi), outputs: this.outputs.map(vi) });
  }

  /**
   * Reads an ONNX model (opset ≤ 17, default domain) into a Graph, fixing every symbolic input
   * dimension from `dims` (e.g. `{ batch: 8 }`).
   */
  static fromOnnx(bytes: Uint8Array, dims: Record<string, number>): Graph {
    const model = decodeModel(bytes);
    const gp = model.graph;
    if (!gp) throw new GraphError("the ONNX model has no graph");
    const g = new Graph();
    for (const t of gp.initializer ?? []) {
      const c = decodeTensor(t);
      if (!c || !t.name) throw new GraphError(`initializer "${t.name}" has an unsupported data type ${t.dataType}`);
      g.constant(c.data, c.shape, c.dtype, t.name);
    }
    for (const inp of gp.input ?? []) {
      if (!inp.name || g.consts.has(inp.name)) continue;
      const tt = inp.type?.tensorType;
      const dtype = CODE_DTYPE.get(tt?.elemType ?? 0);
      if (!dtype) throw new GraphError(`input "${inp.name}" has an unsupported element type`);
      const shape = (tt?.shape?.dim ?? []).map((d) => {
        if (d.dimParam) {
          const v = dims[d.dimParam];
          if (v === undefined) throw new GraphError(`input "${inp.name}": give a value for its dimension "${d.dimParam}"`);
          return v;
        }
        return Number(d.dimValue);
      });
      g.input(inp.name, dtype, shape);
    }
    for (const nd of gp.node ?? []) {
      if (nd.domain && nd.domain !== "" && nd.domain !== "ai.onnx") throw new UnsupportedOpError(`${nd.domain}.${nd.opType}`, nd.name ?? "?", "is outside the default ONNX domain");
      const attrs: Record<string, Attr> = {};
      for (const a of nd.attribute ?? []) {
        if (!a.name) continue;
        const v = decodeAttr(a);
        if (!v || "floats" in v) throw new UnsupportedOpError(nd.opType ?? "?", nd.name ?? "?", `has attribute ${a.name} of a type this builder does not read`);
        attrs[a.name] = v;
      }
      g.addNode({ op: nd.opType ?? "", name: nd.name || `${nd.output?.[0]}_node`, inputs: [...(nd.input ?? [])], outputs: [...(nd.output ?? [])], attrs });
    }
    for (const o of gp.output ?? []) if (o.name) g.output(o.name);
    return g;
  }
}

const UNARY = new Set(["Relu", "Sigmoid", "Exp", "Log", "Sqrt", "Abs", "Neg", "Identity", "Softplus", "Reciprocal", "Sign", "Tanh", "Softmax"]);
const BINARY = new Set(["Add", "Sub", "Mul", "Div", "Pow", "Min", "Max", "Sum", "Where"]);
const COMPARE = new Set(["Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "And", "Or"]);

function needConst(g: Graph, n: GNode, k: number, what: string): number[] {
  const v = n.inputs[k] ? g.constNumbers(n.inputs[k]) : null;
  if (!v) throw new UnsupportedOpError(n.op, n.name, `needs a constant ${what} (input ${k}) for static shapes`);
  return v;
}

function reduceAxes(g: Graph, n: GNode, rank: number): number[] {
  // ReduceSum takes axes as an input from opset 13; the others as an attribute until opset 18.
  const ax = n.op === "ReduceSum" ? (n.inputs[1] ? needConst(g, n, 1, "axes") : null) : attrInts(n, "axes", null);
  return (ax ?? Array.from({ length: rank }, (_, i) => i)).map((a) => normAxis(a, rank));
}

function inferShapes(g: Graph, n: GNode): ValueInfo[] {
  const I = (k: number) => g.info(n.inputs[k]);
  const S = (k: number) => I(k).shape;
  const f32 = (shape: number[]): ValueInfo => ({ dtype: "float32", shape });
  if (UNARY.has(n.op)) return [{ ...I(0), shape: [...S(0)] }];
  if (n.op === "Clip") return [{ ...I(0), shape: [...S(0)] }];
  if (BINARY.has(n.op)) {
    const ins = n.inputs.filter((x) => x !== "");
    const shape = ins.slice(1).reduce((acc, x) => broadcastShapes(acc, g.shape(x), n.name), g.shape(ins[0]));
    return [{ dtype: g.info(ins[n.op === "Where" ? 1 : 0]).dtype, shape }];
  }
  if (COMPARE.has(n.op)) return [{ dtype: "bool", shape: broadcastShapes(S(0), S(1), n.name) }];
  if (n.op === "Not") return [{ dtype: "bool", shape: [...S(0)] }];
  switch (n.op) {
    case "Cast": {
      const to = CODE_DTYPE.get(attrInt(n, "to", 0));
      if (!to) throw new UnsupportedOpError(n.op, n.name, "casts to a type this builder does not model");
      return [{ dtype: to, shape: [...S(0)] }];
    }
    case "Conv":
    case "ConvTranspose": {
      const [b, , h, w] = S(0);
      const ws = S(1);
      const k = attrInts(n, "kernel_shape", null) ?? ws.slice(2);
      const s = attrInts(n, "strides", null) ?? [1, 1];
      const p = attrInts(n, "pads", null) ?? [0, 0, 0, 0];
      const d = attrInts(n, "dilations", null) ?? [1, 1];
      const group = attrInt(n, "group", 1);
      if (S(0).length !== 4 || k.length !== 2) throw new UnsupportedOpError(n.op, n.name, "is supported for 2-D inputs only");
      if (attrStr(n, "auto_pad", "NOTSET") !== "NOTSET") throw new UnsupportedOpError(n.op, n.name, "uses auto_pad; explicit pads only");
      if (n.op === "Conv") {
        const oh = Math.floor((h + p[0] + p[2] - d[0] * (k[0] - 1) - 1) / s[0]) + 1;
        const ow = Math.floor((w + p[1] + p[3] - d[1] * (k[1] - 1) - 1) / s[1]) + 1;
        return [f32([b, ws[0], oh, ow])];
      }
      const op = attrInts(n, "output_padding", null) ?? [0, 0];
      const oh = s[0] * (h - 1) + op[0] + (k[0] - 1) * d[0] + 1 - p[0] - p[2];
      const ow = s[1] * (w - 1) + op[1] + (k[1] - 1) * d[1] + 1 - p[1] - p[3];
      return [f32([b, ws[1] * group, oh, ow])];
    }
    case "MatMul": {
      const a = S(0);
      const bsh = S(1);
      if (a.length < 2 || bsh.length < 2) throw new UnsupportedOpError(n.op, n.name, "is supported for operands of rank ≥ 2 only");
      if (a[a.length - 1] !== bsh[bsh.length - 2]) throw new GraphError(`${n.name}: MatMul of [${a}] and [${bsh}]`);
      const batch = broadcastShapes(a.slice(0, -2), bsh.slice(0, -2), n.name);
      return [f32([...batch, a[a.length - 2], bsh[bsh.length - 1]])];
    }
    case "Gemm": {
      const a = S(0);
      const bsh = S(1);
      const m = attrInt(n, "transA", 0) ? a[1] : a[0];
      const nn = attrInt(n, "transB", 0) ? bsh[0] : bsh[1];
      return [f32([m, nn])];
    }
    case "Transpose": {
      const s = S(0);
      const perm = attrInts(n, "perm", null) ?? s.map((_, i) => s.length - 1 - i);
      return [{ ...I(0), shape: perm.map((p) => s[p]) }];
    }
    case "Reshape": {
      const s = S(0);
      const t = needConst(g, n, 1, "shape");
      const out = t.map((v, i) => (v === 0 ? s[i] : v));
      const known = out.filter((v) => v !== -1).reduce((a, b) => a * b, 1);
      const shape = out.map((v) => (v === -1 ? numel(s) / known : v));
      if (numel(shape) !== numel(s)) throw new GraphError(`${n.name}: cannot reshape [${s}] to [${t}]`);
      return [{ ...I(0), shape }];
    }
    case "Concat": {
      const r = S(0).length;
      const ax = normAxis(attrInt(n, "axis", 0), r);
      const shape = [...S(0)];
      shape[ax] = n.inputs.reduce((a, x) => a + g.shape(x)[ax], 0);
      return [{ ...I(0), shape }];
    }
    case "Slice": {
      const s = [...S(0)];
      const starts = needConst(g, n, 1, "starts");
      const ends = needConst(g, n, 2, "ends");
      const axes = n.inputs[3] ? needConst(g, n, 3, "axes") : starts.map((_, i) => i);
      const steps = n.inputs[4] ? needConst(g, n, 4, "steps") : starts.map(() => 1);
      axes.forEach((a0, i) => {
        const a = normAxis(a0, s.length);
        if (steps[i] < 1) throw new UnsupportedOpError(n.op, n.name, "is supported with positive steps only");
        const [b, e] = sliceRange(starts[i], ends[i], s[a]);
        s[a] = Math.max(0, Math.ceil((e - b) / steps[i]));
      });
      return [{ ...I(0), shape: s }];
    }
    case "Resize": {
      const s = S(0);
      if (n.inputs[3]) return [{ ...I(0), shape: needConst(g, n, 3, "sizes") }];
      const sc = needConst(g, n, 2, "scales");
      return [{ ...I(0), shape: s.map((v, i) => Math.floor(v * sc[i])) }];
    }
    case "Gather": {
      const s = S(0);
      const ax = normAxis(attrInt(n, "axis", 0), s.length);
      return [{ ...I(0), shape: [...s.slice(0, ax), ...S(1), ...s.slice(ax + 1)] }];
    }
    case "LayerNormalization": {
      const s = S(0);
      const ax = normAxis(attrInt(n, "axis", -1), s.length);
      const stat = s.map((v, i) => (i >= ax ? 1 : v));
      return [f32([...s]), f32(stat), f32([...stat])].slice(0, n.outputs.length);
    }
    case "ReduceSum":
    case "ReduceMean":
    case "ReduceSumSquare":
    case "ReduceMax": {
      const s = S(0);
      const axes = reduceAxes(g, n, s.length);
      const keep = attrInt(n, "keepdims", 1) === 1;
      const shape = keep ? s.map((v, i) => (axes.includes(i) ? 1 : v)) : s.filter((_, i) => !axes.includes(i));
      return [{ ...I(0), shape }];
    }
    case "Unsqueeze": {
      const s = [...S(0)];
      const axes = needConst(g, n, 1, "axes");
      const r = s.length + axes.length;
      for (const a of axes.map((x) => normAxis(x, r)).sort((x, y) => x - y)) s.splice(a, 0, 1);
      return [{ ...I(0), shape: s }];
    }
    case "Squeeze": {
      const s = S(0);
      const axes = n.inputs[1] ? needConst(g, n, 1, "axes").map((a) => normAxis(a, s.length)) : s.map((v, i) => (v === 1 ? i : -1)).filter((i) => i >= 0);
      return [{ ...I(0), shape: s.filter((_, i) => !axes.includes(i)) }];
    }
    case "Pad": {
      const s = S(0);
      const pads = needConst(g, n, 1, "pads");
      return [{ ...I(0), shape: s.map((v, i) => v + pads[i] + pads[i + s.length]) }];
    }
    case "BatchNormalization":
      if (attrInt(n, "training_mode", 0) !== 0 || n.outputs.length > 1) throw new UnsupportedOpError(n.op, n.name, "is supported in inference form (running statistics as inputs) only");
      return [{ ...I(0), shape: [...S(0)] }];
    case "ScatterElements":
      return [{ ...I(0), shape: [...S(0)] }];
    case "Expand":
      return [{ ...I(0), shape: broadcastShapes(S(0), needConst(g, n, 1, "shape"), n.name) }];
    case "MaxPool": {
      const [b, c, h, w] = S(0);
      const k = attrInts(n, "kernel_shape", null)!;
      const s = attrInts(n, "strides", null) ?? [1, 1];
      const p = attrInts(n, "pads", null) ?? [0, 0, 0, 0];
      if (attrInt(n, "ceil_mode", 0) !== 0 || (attrInts(n, "dilations", null) ?? [1, 1]).some((d) => d !== 1)) throw new UnsupportedOpError(n.op, n.name, "is supported without ceil_mode and dilations only");
      const o = [b, c, Math.floor((h + p[0] + p[2] - k[0]) / s[0]) + 1, Math.floor((w + p[1] + p[3] - k[1]) / s[1]) + 1];
      return [f32(o), { dtype: "int64" as const, shape: [...o] }].slice(0, Math.max(1, n.outputs.length));
    }
    default:
      throw new UnsupportedOpError(n.op, n.name, "is not supported by the training graph builder");
  }
}

/** ONNX Slice's clamping of start/end (step 1) against a dimension. */
export function sliceRange(start: number, end: number, dim: number): [number, number] {
  const c = (v: number) => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
  return [c(start), c(end)];
}

export { sameShape };
