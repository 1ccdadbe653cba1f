import { tf } from "./backend.js";
import { conv2d, depthwiseConv2d, type Pads } from "./conv.js";
import { ModelOptionError } from "../core/errors.js";
import type { ParamLookup } from "./model.js";
import { isDepthwise, type GraphNode, type ImportedGraph } from "../onnx/import.js";

/**
 * A value in the interpreter: 4-D image tensors are kept NHWC (tfjs' native layout) while the source
 * graph speaks NCHW, so axes are translated per op; anything reshaped out of 4-D is "plain".
 */
interface Value {
  t: tf.Tensor;
  nhwc: boolean;
}

/** NCHW axis → NHWC axis. */
const NHWC_AXIS = [0, 3, 1, 2];

function toNchw(v: Value): tf.Tensor {
  return v.nhwc ? tf.transpose(v.t, [0, 3, 1, 2]) : v.t;
}

function intsAttr(n: GraphNode, key: string, fallback: number[]): number[] {
  const v = n.attrs[key];
  return Array.isArray(v) ? v : fallback;
}

/** ONNX pads [top, left, bottom, right] → ours [top, bottom, left, right]. */
function onnxPads(n: GraphNode): Pads {
  const p = intsAttr(n, "pads", [0, 0, 0, 0]);
  return [p[0], p[2], p[1], p[3]];
}

function maxPool(x: tf.Tensor4D, n: GraphNode): tf.Tensor4D {
  const [kh, kw] = intsAttr(n, "kernel_shape", []);
  const [sh, sw] = intsAttr(n, "strides", [1, 1]);
  const p = onnxPads(n);
  if (Number(n.attrs.ceil_mode ?? 0) !== 0) throw new ModelOptionError("onnx", `MaxPool ${n.name} uses ceil_mode; medfcl imports floor mode only`);
  // Padding with a very negative value makes max-pooling ignore it, as ONNX does.
  const padded = p.some((v) => v !== 0) ? tf.pad(x, [[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]], -3.4e38) : x;
  return tf.maxPool(padded as tf.Tensor4D, [kh, kw], [sh, sw], "valid");
}

function constOf(graph: ImportedGraph, name: string, node: GraphNode): number[] {
  const c = graph.consts[name];
  if (!c) throw new ModelOptionError("onnx", `${node.op} ${node.name} needs input "${name}" as a constant`);
  return c.values;
}

/**
 * Strided slicing without StridedSlice, which is a slow generic loop on tfjs-wasm: per strided axis, a
 * reshape to 4-D [before, n, step, after] and a plain 4-D slice keeping index 0 of the step axis
 * (wasm's Slice is fast up to rank 4 only).
 */
export function stepSlice(x: tf.Tensor, begin: number[], end: number[], steps: number[]): tf.Tensor {
  const counts = begin.map((b, i) => Math.max(0, Math.ceil((end[i] - b) / steps[i])));
  if (steps.every((s) => s === 1)) return tf.slice(x, begin, counts);
  // Take (n−1)·step + 1 elements and pad the tail to n·step, so the reshape below always divides.
  const sizes = counts.map((c, i) => (c === 0 ? 0 : (c - 1) * steps[i] + 1));
  let y = tf.slice(x, begin, sizes);
  const tail = sizes.map((sz, i) => counts[i] * steps[i] - sz);
  if (tail.some((t) => t > 0)) y = tf.pad(y, tail.map((t) => [0, t] as [number, number]));
  steps.forEach((s, a) => {
    if (s === 1) return;
    const shape = [...y.shape];
    const before = shape.slice(0, a).reduce((p, d) => p * d, 1);
    const after = shape.slice(a + 1).reduce((p, d) => p * d, 1);
    const picked = tf.slice(tf.reshape(y, [before, counts[a], s, after]), [0, 0, 0, 0], [before, counts[a], 1, after]);
    y = tf.reshape(picked, [...shape.slice(0, a), counts[a], ...shape.slice(a + 1)]);
  });
  return y;
}

function slice(graph: ImportedGraph, v: Value, n: GraphNode): Value {
  const starts = constOf(graph, n.inputs[1], n);
  const ends = constOf(graph, n.inputs[2], n);
  const rank = v.t.shape.length;
  const axes = n.inputs[3] ? constOf(graph, n.inputs[3], n) : starts.map((_, i) => i);
  const steps = n.inputs[4] ? constOf(graph, n.inputs[4], n) : starts.map(() => 1);
  const begin = new Array<number>(rank).fill(0);
  const end = [...v.t.shape];
  const strides = new Array<number>(rank).fill(1);
  axes.forEach((a0, i) => {
    const a = a0 < 0 ? a0 + rank : a0;
    const ax = v.nhwc ? NHWC_AXIS[a] : a;
    const dim = v.t.shape[ax];
    const clamp = (x: number) => Math.max(0, Math.min(dim, x < 0 ? x + dim : x));
    if (steps[i] <= 0) throw new ModelOptionError("onnx", `Slice ${n.name} has step ${steps[i]}; medfcl imports positive steps only`);
    begin[ax] = clamp(starts[i]);
    end[ax] = clamp(ends[i]);
    strides[ax] = steps[i];
  });
  return { t: stepSlice(v.t, begin, end, strides), nhwc: v.nhwc };
}

function resize(graph: ImportedGraph, v: Value, n: GraphNode): Value {
  if ((n.attrs.mode ?? "nearest") !== "nearest") throw new ModelOptionError("onnx", `Resize ${n.name} uses mode "${String(n.attrs.mode)}"; medfcl imports nearest only`);
  if (!v.nhwc) throw new ModelOptionError("onnx", `Resize ${n.name} on a non-image tensor`);
  const scales = n.inputs[2] ? constOf(graph, n.inputs[2], n) : [];
  const sizes = n.inputs[3] ? constOf(graph, n.inputs[3], n) : [];
  const [, h, w] = v.t.shape;
  const outH = sizes.length === 4 ? sizes[2] : Math.floor(h * scales[2]);
  const outW = sizes.length === 4 ? sizes[3] : Math.floor(w * scales[3]);
  // For integer up-scaling every ONNX coordinate mode picks source pixel floor(x / scale), as tfjs does.
  if (outH % h !== 0 || outW % w !== 0) throw new ModelOptionError("onnx", `Resize ${n.name} scales by a non-integer factor; medfcl imports integer nearest up-sampling only`);
  return { t: tf.image.resizeNearestNeighbor(v.t as tf.Tensor4D, [outH, outW]), nhwc: true };
}

function runNode(graph: ImportedGraph, n: GraphNode, env: Map<string, Value>, p: ParamLookup): Value {
  const get = (name: string): Value => {
    const v = env.get(name);
    if (v) return v;
    const c = graph.consts[name];
    if (c) return { t: tf.tensor(c.values, c.dims, "float32"), nhwc: false };
    throw new ModelOptionError("onnx", `${n.op} ${n.name}: input "${name}" is not computed before it`);
  };
  switch (n.op) {
    case "Conv": {
      const x = get(n.inputs[0]);
      const w = p(graph.params[n.inputs[1]]) as tf.Tensor4D;
      const b = p(graph.params[n.inputs[2]]);
      const stride = intsAttr(n, "strides", [1, 1]);
      if (stride[0] !== stride[1]) throw new ModelOptionError("onnx", `Conv ${n.name} has unequal strides`);
      const pads = onnxPads(n);
      const y = isDepthwise(n) ? depthwiseConv2d(x.t as tf.Tensor4D, w, stride[0], pads) : conv2d(x.t as tf.Tensor4D, w, stride[0], pads);
      return { t: tf.add(y, b), nhwc: true };
    }
    case "Sigmoid":
      return { ...get(n.inputs[0]), t: tf.sigmoid(get(n.inputs[0]).t) };
    case "Relu":
      return { ...get(n.inputs[0]), t: tf.relu(get(n.inputs[0]).t) };
    case "Mul":
    case "Add": {
      const a = get(n.inputs[0]);
      const b = get(n.inputs[1]);
      if (a.t.rank === 4 && b.t.rank === 4 && a.nhwc !== b.nhwc) throw new ModelOptionError("onnx", `${n.op} ${n.name} mixes layouts`);
      const t = n.op === "Mul" ? tf.mul(a.t, b.t) : tf.add(a.t, b.t);
      return { t, nhwc: a.nhwc || b.nhwc };
    }
    case "Concat": {
      const vs = n.inputs.map(get);
      const nhwc = vs[0].nhwc;
      const rank = vs[0].t.rank;
      const a0 = Number(n.attrs.axis ?? 0);
      const a = a0 < 0 ? a0 + rank : a0;
      return { t: tf.concat(vs.map((v) => v.t), nhwc ? NHWC_AXIS[a] : a), nhwc };
    }
    case "Slice":
      return slice(graph, get(n.inputs[0]), n);
    case "MaxPool":
      return { t: maxPool(get(n.inputs[0]).t as tf.Tensor4D, n), nhwc: true };
    case "Resize":
      return resize(graph, get(n.inputs[0]), n);
    case "Reshape": {
      const shape = constOf(graph, n.inputs[1], n);
      const x = toNchw(get(n.inputs[0]));
      return { t: tf.reshape(x, shape.map((d, i) => (d === 0 ? x.shape[i] : d))), nhwc: false };
    }
    case "Transpose": {
      const x = toNchw(get(n.inputs[0]));
      return { t: tf.transpose(x, intsAttr(n, "perm", [...x.shape.keys()].reverse())), nhwc: false };
    }
    case "Constant":
      throw new ModelOptionError("onnx", `Constant ${n.name} should have been folded at import`);
    default: {
      const never: never = n.op;
      throw new ModelOptionError("onnx", `op ${String(never)} is not supported`);
    }
  }
}

/**
 * Runs an imported graph in tfjs on an NHWC input (already in the source model's pixel convention)
 * and returns the requested tensors: NHWC when they are images, as in the graph otherwise.
 * Differentiable through every op (convs use medfcl's wasm-friendly gradients).
 */
export function runGraph(graph: ImportedGraph, p: ParamLookup, input: tf.Tensor4D, outputs: string[]): Map<string, tf.Tensor> {
  const env = new Map<string, Value>([[graph.input, { t: input, nhwc: true }]]);
  for (const n of graph.nodes) {
    const v = runNode(graph, n, env, p);
    env.set(n.outputs[0], v);
  }
  const out = new Map<string, tf.Tensor>();
  for (const o of outputs) {
    const v = env.get(o);
    if (!v) throw new ModelOptionError("onnx", `the graph has no tensor "${o}"`);
    out.set(o, v.t);
  }
  return out;
}

/** Output stride of every tensor of the graph (input = 1), from the convs', slices' and resizes' attributes. */
export function tensorStrides(graph: ImportedGraph): Map<string, number> {
  const s = new Map<string, number>([[graph.input, 1]]);
  for (const n of graph.nodes) {
    const inS = s.get(n.inputs[0]) ?? 1;
    let o = inS;
    if (n.op === "Conv" || n.op === "MaxPool") o = inS * intsAttr(n, "strides", [1, 1])[0];
    else if (n.op === "Slice") {
      const steps = n.inputs[4] ? graph.consts[n.inputs[4]]?.values ?? [] : [];
      const axes = n.inputs[3] ? graph.consts[n.inputs[3]]?.values ?? [] : [];
      // Strides are measured along the height axis (Focus-style slices step both axes alike).
      const h = axes.findIndex((a) => a === 2);
      o = h >= 0 ? inS * (steps[h] ?? 1) : inS;
    } else if (n.op === "Resize") {
      const scales = n.inputs[2] ? graph.consts[n.inputs[2]]?.values ?? [] : [];
      o = scales.length === 4 ? inS / scales[2] : inS;
    } else if (n.op === "Concat" && n.inputs.some((i) => s.has(i))) o = s.get(n.inputs.find((i) => s.has(i))!)!;
    for (const out of n.outputs) s.set(out, o);
  }
  return s;
}
