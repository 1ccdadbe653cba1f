import { GraphError, UnsupportedOpError } from "../../core/errors.js";
import { attrFloat, attrInt, attrInts, attrStr, numel, sameShape, sliceRange, type GNode, type Graph } from "../../onnx/graph.js";

/** What a gradient rule sees: the graph (to emit nodes into), the forward node, and which inputs need a gradient. */
export interface GradContext {
  g: Graph;
  node: GNode;
  needs(k: number): boolean;
}

/**
 * One rule per op: from the forward node and the gradients of its outputs (null where an output
 * gets none), emit the backward nodes and return the gradient of each input (null where none is
 * needed or defined). Returned gradients have exactly the input's shape.
 */
export type GradRule = (ctx: GradContext, dys: (string | null)[]) => (string | null)[];

const RULES = new Map<string, GradRule>();

export function registerGradient(op: string, rule: GradRule): void {
  RULES.set(op, rule);
}

/** Ops with a gradient rule (sorted). */
export function differentiableOps(): string[] {
  return [...RULES.keys()].sort();
}

/** Ops whose outputs carry no gradient (comparisons, integer casts): gradient flow stops there. */
const NON_DIFF = new Set(["Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "And", "Or", "Not", "Sign", "Shape"]);

function carriesGrad(g: Graph, n: GNode): boolean {
  if (NON_DIFF.has(n.op)) return false;
  if (n.op === "Cast") return g.info(n.outputs[0]).dtype === "float32";
  return true;
}

/**
 * Reverse-mode differentiation of `loss` (a float tensor; seeded with ones) with respect to `wrt`.
 * Walks the nodes backwards from the loss, visiting only nodes that both depend on a `wrt` value and
 * lead to the loss (so frozen parameters and the data path get no gradient subgraph), and sums the
 * gradients of every value that fans out. Returns each `wrt` value's gradient (a zero constant when
 * the loss does not depend on it). Throws UnsupportedOpError naming the first op without a rule.
 */
export function buildGradients(g: Graph, loss: string, wrt: string[]): Map<string, string> {
  const requires = new Set(wrt);
  for (const n of g.nodes) {
    if (carriesGrad(g, n) && n.inputs.some((i) => requires.has(i))) for (const o of n.outputs) if (o) requires.add(o);
  }
  const reach = new Set([loss]);
  const relevant: GNode[] = [];
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const n = g.nodes[k];
    if (!n.outputs.some((o) => reach.has(o) && requires.has(o))) continue;
    relevant.push(n);
    for (const i of n.inputs) if (i) reach.add(i);
  }
  const contrib = new Map<string, string[]>();
  const push = (v: string, gr: string) => {
    const l = contrib.get(v);
    if (l) l.push(gr);
    else contrib.set(v, [gr]);
  };
  const collect = (v: string): string | null => {
    const l = contrib.get(v);
    if (!l || l.length === 0) return null;
    if (l.length > 1) {
      const s = g.op("Sum", l);
      contrib.set(v, [s]);
      return s;
    }
    return l[0];
  };
  push(loss, g.op("Expand", [g.scalar(1), g.i64(g.shape(loss))]));
  for (const node of relevant) {
    const rule = RULES.get(node.op);
    if (!rule) throw new UnsupportedOpError(node.op, node.name);
    const dys = node.outputs.map((o) => (o ? collect(o) : null));
    if (dys.every((d) => d === null)) continue;
    const needs = (k: number) => !!node.inputs[k] && requires.has(node.inputs[k]) && reach.has(node.inputs[k]);
    const dxs = rule({ g, node, needs }, dys);
    node.inputs.forEach((inp, k) => {
      const dx = dxs[k];
      if (!dx || !needs(k)) return;
      const want = g.shape(inp);
      if (!sameShape(g.shape(dx), want)) throw new GraphError(`gradient rule for ${node.op} (${node.name}) gave input ${k} shape [${g.shape(dx)}], expected [${want}]`);
      push(inp, dx);
    });
  }
  const out = new Map<string, string>();
  for (const w of wrt) out.set(w, collect(w) ?? g.constant(new Float32Array(numel(g.shape(w))), g.shape(w)));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the rules.

/** Sums `grad` over the axes that broadcasting expanded, back to `target`'s shape. */
export function unbroadcast(g: Graph, grad: string, target: number[]): string {
  const s = g.shape(grad);
  if (sameShape(s, target)) return grad;
  const lead = s.length - target.length;
  const axes: number[] = [];
  for (let i = 0; i < s.length; i++) if (i < lead || (target[i - lead] === 1 && s[i] !== 1)) axes.push(i);
  const r = axes.length ? g.op("ReduceSum", [grad, g.i64(axes)], { keepdims: { i: 0 } }) : grad;
  return sameShape(g.shape(r), target) ? r : g.op("Reshape", [r, g.i64(target)]);
}

const swapLast = (r: number) => Array.from({ length: r }, (_, i) => (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i));
const transposeLast = (g: Graph, x: string) => g.op("Transpose", [x], { perm: { ints: swapLast(g.shape(x).length) } });
const zero = (g: Graph) => g.scalar(0);
const maskGrad = (g: Graph, cond: string, dy: string) => g.op("Where", [cond, dy, zero(g)]);
const inp = (c: GradContext, k: number) => c.node.inputs[k];
const out = (c: GradContext, k = 0) => c.node.outputs[k];

function binaryRule(f: (c: GradContext, dy: string) => [string | null, string | null]): GradRule {
  return (c, [dy]) => {
    if (!dy) return [];
    const [da, db] = f(c, dy);
    return [da && unbroadcast(c.g, da, c.g.shape(inp(c, 0))), db && unbroadcast(c.g, db, c.g.shape(inp(c, 1)))];
  };
}

// ---------------------------------------------------------------------------------------------
// Elementwise.

registerGradient("Add", binaryRule((_c, dy) => [dy, dy]));
registerGradient("Sub", binaryRule((c, dy) => [dy, c.needs(1) ? c.g.op("Neg", [dy]) : null]));
registerGradient("Mul", binaryRule((c, dy) => [c.needs(0) ? c.g.op("Mul", [dy, inp(c, 1)]) : null, c.needs(1) ? c.g.op("Mul", [dy, inp(c, 0)]) : null]));
registerGradient(
  "Div",
  binaryRule((c, dy) => {
    const { g } = c;
    const [a, b] = [inp(c, 0), inp(c, 1)];
    return [c.needs(0) ? g.op("Div", [dy, b]) : null, c.needs(1) ? g.op("Neg", [g.op("Div", [g.op("Mul", [dy, a]), g.op("Mul", [b, b])])]) : null];
  }),
);
// Ties go to the first operand for Min/Max, as in tfjs (minimum: a ≤ b, maximum: a ≥ b).
registerGradient(
  "Min",
  binaryRule((c, dy) => {
    if (c.node.inputs.length !== 2) throw new UnsupportedOpError("Min", c.node.name, "is differentiable with two inputs only");
    const [a, b] = [inp(c, 0), inp(c, 1)];
    return [c.needs(0) ? maskGrad(c.g, c.g.op("LessOrEqual", [a, b]), dy) : null, c.needs(1) ? maskGrad(c.g, c.g.op("Greater", [a, b]), dy) : null];
  }),
);
registerGradient(
  "Max",
  binaryRule((c, dy) => {
    if (c.node.inputs.length !== 2) throw new UnsupportedOpError("Max", c.node.name, "is differentiable with two inputs only");
    const [a, b] = [inp(c, 0), inp(c, 1)];
    return [c.needs(0) ? maskGrad(c.g, c.g.op("GreaterOrEqual", [a, b]), dy) : null, c.needs(1) ? maskGrad(c.g, c.g.op("Less", [a, b]), dy) : null];
  }),
);
registerGradient("Pow", (c, [dy]) => {
  if (!dy) return [];
  const e = c.g.constNumbers(inp(c, 1));
  if (c.needs(1) || !e || e.length !== 1) throw new UnsupportedOpError("Pow", c.node.name, "is differentiable with a constant scalar exponent only");
  const { g } = c;
  const d = g.op("Mul", [g.op("Mul", [dy, g.scalar(e[0])]), g.op("Pow", [inp(c, 0), g.scalar(e[0] - 1)])]);
  return [d, null];
});
registerGradient("Sum", (c, [dy]) => (dy ? c.node.inputs.map((x, k) => (c.needs(k) ? unbroadcast(c.g, dy, c.g.shape(x)) : null)) : []));
registerGradient("Where", (c, [dy]) => {
  if (!dy) return [];
  const { g } = c;
  const cond = inp(c, 0);
  return [
    null,
    c.needs(1) ? unbroadcast(g, g.op("Where", [cond, dy, zero(g)]), g.shape(inp(c, 1))) : null,
    c.needs(2) ? unbroadcast(g, g.op("Where", [cond, zero(g), dy]), g.shape(inp(c, 2))) : null,
  ];
});

registerGradient("Neg", (c, [dy]) => [dy && c.g.op("Neg", [dy])]);
registerGradient("Identity", (_c, [dy]) => [dy]);
registerGradient("Cast", (c, [dy]) => {
  if (c.g.info(inp(c, 0)).dtype !== "float32") return [null];
  return [dy];
});
registerGradient("Relu", (c, [dy]) => [dy && maskGrad(c.g, c.g.op("Greater", [inp(c, 0), zero(c.g)]), dy)]);
// tfjs's abs gradient is dy·step(x, −1): +dy for x > 0, −dy otherwise (0 included).
registerGradient("Abs", (c, [dy]) => [dy && c.g.op("Where", [c.g.op("Greater", [inp(c, 0), zero(c.g)]), dy, c.g.op("Neg", [dy])])]);
registerGradient("Exp", (c, [dy]) => [dy && c.g.op("Mul", [dy, out(c)])]);
registerGradient("Log", (c, [dy]) => [dy && c.g.op("Div", [dy, inp(c, 0)])]);
registerGradient("Sqrt", (c, [dy]) => [dy && c.g.op("Div", [dy, c.g.op("Mul", [out(c), c.g.scalar(2)])])]);
registerGradient("Reciprocal", (c, [dy]) => [dy && c.g.op("Neg", [c.g.op("Mul", [dy, c.g.op("Mul", [out(c), out(c)])])])]);
registerGradient("Sigmoid", (c, [dy]) => {
  if (!dy) return [];
  const y = out(c);
  return [c.g.op("Mul", [dy, c.g.op("Mul", [y, c.g.op("Sub", [c.g.scalar(1), y])])])];
});
registerGradient("Tanh", (c, [dy]) => {
  if (!dy) return [];
  const y = out(c);
  return [c.g.op("Mul", [dy, c.g.op("Sub", [c.g.scalar(1), c.g.op("Mul", [y, y])])])];
});
registerGradient("Softplus", (c, [dy]) => [dy && c.g.op("Mul", [dy, c.g.op("Sigmoid", [inp(c, 0)])])]);
// Clip passes the gradient where min ≤ x ≤ max (tfjs clipByValue does the same).
registerGradient("Clip", (c, [dy]) => {
  if (!dy) return [];
  const { g } = c;
  const x = inp(c, 0);
  if ((inp(c, 1) && c.needs(1)) || (inp(c, 2) && c.needs(2))) throw new UnsupportedOpError("Clip", c.node.name, "is differentiable in x only (min/max must be constants or data)");
  const conds: string[] = [];
  if (inp(c, 1)) conds.push(g.op("GreaterOrEqual", [x, inp(c, 1)]));
  if (inp(c, 2)) conds.push(g.op("LessOrEqual", [x, inp(c, 2)]));
  if (conds.length === 0) return [dy];
  return [maskGrad(g, conds.length === 2 ? g.op("And", conds) : conds[0], dy)];
});

// ---------------------------------------------------------------------------------------------
// Linear algebra and convolution.

registerGradient("MatMul", (c, [dy]) => {
  if (!dy) return [];
  const { g } = c;
  const [a, b] = [inp(c, 0), inp(c, 1)];
  const sa = g.shape(a);
  const sb = g.shape(b);
  let da: string | null = null;
  let db: string | null = null;
  if (c.needs(0)) da = unbroadcast(g, g.op("MatMul", [dy, transposeLast(g, b)]), sa);
  if (c.needs(1)) {
    if (sb.length === 2 && sa.length > 2) {
      // A batched activation against a weight matrix: one [k, rows]·[rows, n] product.
      const k = sa[sa.length - 1];
      const n = sb[1];
      db = g.op("MatMul", [g.op("Transpose", [g.op("Reshape", [a, g.i64([-1, k])])], { perm: { ints: [1, 0] } }), g.op("Reshape", [dy, g.i64([-1, n])])]);
    } else {
      db = unbroadcast(g, g.op("MatMul", [transposeLast(g, a), dy]), sb);
    }
  }
  return [da, db];
});

registerGradient("Gemm", (c, [dy]) => {
  if (!dy) return [];
  const { g, node } = c;
  const [a, b, cc] = [inp(c, 0), inp(c, 1), inp(c, 2)];
  const tA = attrInt(node, "transA", 0);
  const tB = attrInt(node, "transB", 0);
  const alpha = attrFloat(node, "alpha", 1);
  const beta = attrFloat(node, "beta", 1);
  const gemm = (x: string, y: string, ta: number, tb: number) => g.op("Gemm", [x, y], { transA: { i: ta }, transB: { i: tb }, alpha: { f: alpha } });
  const da = c.needs(0) ? (tA ? gemm(b, dy, tB, 1) : gemm(dy, b, tB ? 0 : 1, 0)) : null;
  const db = c.needs(1) ? (tB ? gemm(dy, a, 1, tA) : gemm(a, dy, tA ? 0 : 1, 0)) : null;
  const dc = cc && c.needs(2) ? unbroadcast(g, beta === 1 ? dy : g.op("Mul", [dy, g.scalar(beta)]), g.shape(cc)) : null;
  return [da, db, dc];
});

/**
 * Conv (2-D, any groups, strides, dilations, explicit pads).
 * dX: ConvTranspose of dy with the same filter, output_padding recovering the rows the forward
 * stride skipped. dW: one Conv in which the per-group input channels play the batch and the image
 * batch plays the channels (dy is the filter; strides and dilations swap roles):
 * dW[g·cog+o, c, i, j] = Σ_{b,h,w} x[b, g·cig+c, h·s+i·d, w·s+j·d] · dy[b, g·cog+o, h, w].
 */
registerGradient("Conv", (c, [dy]) => {
  if (!dy) return [];
  const { g, node } = c;
  const [x, w, bias] = [inp(c, 0), inp(c, 1), inp(c, 2)];
  const [bn, , h, wd] = g.shape(x);
  const [co, cig, kh, kw] = g.shape(w);
  const [, , ho, wo] = g.shape(dy);
  const s = attrInts(node, "strides", null) ?? [1, 1];
  const p = attrInts(node, "pads", null) ?? [0, 0, 0, 0];
  const d = attrInts(node, "dilations", null) ?? [1, 1];
  const G = attrInt(node, "group", 1);
  const cog = co / G;
  let dx: string | null = null;
  let dw: string | null = null;
  let db: string | null = null;
  if (c.needs(0)) {
    const outPad = [h + p[0] + p[2] - ((ho - 1) * s[0] + (kh - 1) * d[0] + 1), wd + p[1] + p[3] - ((wo - 1) * s[1] + (kw - 1) * d[1] + 1)];
    dx = g.op("ConvTranspose", [dy, w], {
      kernel_shape: { ints: [kh, kw] },
      strides: { ints: s },
      pads: { ints: p },
      dilations: { ints: d },
      group: { i: G },
      output_padding: { ints: outPad },
    });
  }
  if (c.needs(1) && G === 1) {
    // im2col by one depthwise Conv with one-hot filters (channel c·kh·kw + i·kw + j holds
    // x[c] shifted by (i, j)), then one batched product with dy: dW[o, c, i, j] =
    // Σ_b dy[b, o, :] · P[b, (c,i,j), :]. onnxruntime's Conv with a dy-sized dilated kernel (the
    // grouped formulation below) runs 10-40× under its FLOP rate for these shapes.
    const kk = kh * kw;
    const eye = new Float32Array(cig * kk * kk);
    for (let c2 = 0; c2 < cig; c2++) for (let q = 0; q < kk; q++) eye[(c2 * kk + q) * kk + q] = 1;
    const pointwise = kk === 1 && s.every((v) => v === 1) && p.every((v) => v === 0);
    // A 1×1 stride-1 conv needs no im2col: the patches are x itself.
    const P = pointwise ? x : g.op("Conv", [x, g.constant(eye, [cig * kk, 1, kh, kw])], { kernel_shape: { ints: [kh, kw] }, strides: { ints: s }, pads: { ints: p }, dilations: { ints: d }, group: { i: cig } });
    const Pr = g.op("Reshape", [P, g.i64([bn, cig * kk, ho * wo])]);
    const dyr = g.op("Reshape", [dy, g.i64([bn, co, ho * wo])]);
    const prod = g.op("ReduceSum", [g.op("MatMul", [dyr, g.op("Transpose", [Pr], { perm: { ints: [0, 2, 1] } })]), g.i64([0])], { keepdims: { i: 0 } });
    dw = g.op("Reshape", [prod, g.i64([co, cig, kh, kw])]);
  } else if (c.needs(1)) {
    const xs = G === 1 ? g.op("Transpose", [x], { perm: { ints: [1, 0, 2, 3] } }) : g.op("Reshape", [g.op("Transpose", [g.op("Reshape", [x, g.i64([bn, G, cig, h, wd])])], { perm: { ints: [2, 1, 0, 3, 4] } }), g.i64([cig, G * bn, h, wd])]);
    const ws = G === 1 ? g.op("Transpose", [dy], { perm: { ints: [1, 0, 2, 3] } }) : g.op("Reshape", [g.op("Transpose", [g.op("Reshape", [dy, g.i64([bn, G, cog, ho, wo])])], { perm: { ints: [1, 2, 0, 3, 4] } }), g.i64([co, bn, ho, wo])]);
    let r = g.op("Conv", [xs, ws], { kernel_shape: { ints: [ho, wo] }, strides: { ints: d }, dilations: { ints: s }, pads: { ints: p }, group: { i: G } });
    const [, , rh, rw] = g.shape(r);
    if (rh !== kh || rw !== kw) r = g.op("Slice", [r, g.i64([0, 0]), g.i64([kh, kw]), g.i64([2, 3])]);
    dw = g.op("Transpose", [r], { perm: { ints: [1, 0, 2, 3] } });
  }
  if (bias && c.needs(2)) db = g.op("ReduceSum", [dy, g.i64([0, 2, 3])], { keepdims: { i: 0 } });
  return [dx, dw, db];
});

/**
 * MaxPool: the forward node's Indices output (added when absent; flat NCHW positions of each
 * window's first maximum) routes dy back with one ScatterElements(reduction "add").
 */
registerGradient("MaxPool", (c, [dy]) => {
  if (!dy) return [];
  const { g, node } = c;
  if (attrInt(node, "storage_order", 0) !== 0) throw new UnsupportedOpError("MaxPool", node.name, "is differentiable with storage_order 0 only");
  const [, idx] = g.extendOutputs(node, 2);
  const xs = g.shape(inp(c, 0));
  const zeros = g.op("Expand", [zero(g), g.i64([numel(xs)])]);
  const flat = g.op("ScatterElements", [zeros, g.op("Reshape", [idx, g.i64([-1])]), g.op("Reshape", [dy, g.i64([-1])])], { axis: { i: 0 }, reduction: { s: "add" } });
  return [g.op("Reshape", [flat, g.i64(xs)])];
});

// ---------------------------------------------------------------------------------------------
// Normalisation and attention.

registerGradient("Softmax", (c, [dy]) => {
  if (!dy) return [];
  const { g } = c;
  const y = out(c);
  const axis = attrInt(c.node, "axis", -1);
  const r = g.shape(y).length;
  const s = g.op("ReduceSum", [g.op("Mul", [dy, y]), g.i64([axis < 0 ? axis + r : axis])], { keepdims: { i: 1 } });
  return [g.op("Mul", [y, g.op("Sub", [dy, s])])];
});

/**
 * LayerNormalization over axes [axis, rank): uses the node's Mean and InvStdDev outputs (added to
 * the forward node when absent). dx = σ⁻¹·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with dx̂ = dy·γ.
 */
registerGradient("LayerNormalization", (c, [dy]) => {
  if (!dy) return [];
  const { g, node } = c;
  const [x, gamma, beta] = [inp(c, 0), inp(c, 1), inp(c, 2)];
  const r = g.shape(x).length;
  const axis = attrInt(node, "axis", -1);
  const a0 = axis < 0 ? axis + r : axis;
  const axes = Array.from({ length: r - a0 }, (_, i) => a0 + i);
  const [, mean, inv] = g.extendOutputs(node, 3);
  const xhat = g.op("Mul", [g.op("Sub", [x, mean]), inv]);
  const dgamma = c.needs(1) ? unbroadcast(g, g.op("Mul", [dy, xhat]), g.shape(gamma)) : null;
  const dbeta = beta && c.needs(2) ? unbroadcast(g, dy, g.shape(beta)) : null;
  let dx: string | null = null;
  if (c.needs(0)) {
    const dxhat = g.op("Mul", [dy, gamma]);
    const mean1 = g.op("ReduceMean", [dxhat], { axes: { ints: axes }, keepdims: { i: 1 } });
    const mean2 = g.op("ReduceMean", [g.op("Mul", [dxhat, xhat])], { axes: { ints: axes }, keepdims: { i: 1 } });
    dx = g.op("Mul", [inv, g.op("Sub", [g.op("Sub", [dxhat, mean1]), g.op("Mul", [xhat, mean2])])]);
  }
  return [dx, dgamma, dbeta];
});

/**
 * BatchNormalization in inference form (as exported detectors carry it unfused): the running mean
 * and variance are constants, so it is a per-channel affine map of x.
 */
registerGradient("BatchNormalization", (c, [dy]) => {
  if (!dy) return [];
  const { g, node } = c;
  if (c.needs(3) || c.needs(4)) throw new UnsupportedOpError("BatchNormalization", node.name, "has no gradient for its running statistics");
  const [x, scale, , mean, variance] = node.inputs;
  const xs = g.shape(x);
  const chan = xs.map((v, i) => (i === 1 ? v : 1));
  const others = xs.map((_, i) => i).filter((i) => i !== 1);
  const inv = g.op("Reshape", [g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [variance, g.scalar(attrFloat(node, "epsilon", 1e-5))])])]), g.i64(chan)]);
  const dx = c.needs(0) ? g.op("Mul", [dy, g.op("Mul", [g.op("Reshape", [scale, g.i64(chan)]), inv])]) : null;
  const xhat = () => g.op("Mul", [g.op("Sub", [x, g.op("Reshape", [mean, g.i64(chan)])]), inv]);
  const dscale = c.needs(1) ? g.op("ReduceSum", [g.op("Mul", [dy, xhat()]), g.i64(others)], { keepdims: { i: 0 } }) : null;
  const dbias = c.needs(2) ? g.op("ReduceSum", [dy, g.i64(others)], { keepdims: { i: 0 } }) : null;
  return [dx, dscale, dbias, null, null];
});

// ---------------------------------------------------------------------------------------------
// Shape and data movement.

registerGradient("Reshape", (c, [dy]) => [dy && c.g.op("Reshape", [dy, c.g.i64(c.g.shape(inp(c, 0)))]), null]);
registerGradient("Squeeze", (c, [dy]) => [dy && c.g.op("Reshape", [dy, c.g.i64(c.g.shape(inp(c, 0)))]), null]);
registerGradient("Unsqueeze", (c, [dy]) => [dy && c.g.op("Reshape", [dy, c.g.i64(c.g.shape(inp(c, 0)))]), null]);
registerGradient("Expand", (c, [dy]) => [dy && unbroadcast(c.g, dy, c.g.shape(inp(c, 0))), null]);
registerGradient("Transpose", (c, [dy]) => {
  if (!dy) return [];
  const r = c.g.shape(inp(c, 0)).length;
  const perm = attrInts(c.node, "perm", null) ?? Array.from({ length: r }, (_, i) => r - 1 - i);
  const inv = new Array<number>(r);
  perm.forEach((p, i) => (inv[p] = i));
  return [c.g.op("Transpose", [dy], { perm: { ints: inv } })];
});
registerGradient("Concat", (c, [dy]) => {
  if (!dy) return [];
  const { g } = c;
  const r = g.shape(dy).length;
  const a = attrInt(c.node, "axis", 0);
  const ax = a < 0 ? a + r : a;
  let off = 0;
  return c.node.inputs.map((x, k) => {
    const len = g.shape(x)[ax];
    const start = off;
    off += len;
    return c.needs(k) ? g.op("Slice", [dy, g.i64([start]), g.i64([start + len]), g.i64([ax])]) : null;
  });
});
registerGradient("Slice", (c, [dy]) => {
  if (!dy) return [];
  const { g } = c;
  const s = g.shape(inp(c, 0));
  const starts = g.constNumbers(inp(c, 1))!;
  const ends = g.constNumbers(inp(c, 2))!;
  const axes = c.node.inputs[3] ? g.constNumbers(inp(c, 3))! : starts.map((_, i) => i);
  const steps = c.node.inputs[4] ? g.constNumbers(inp(c, 4)) : null;
  if (steps?.some((v) => v !== 1)) throw new UnsupportedOpError("Slice", c.node.name, "is differentiable with step 1 only");
  const pads = new Array<number>(2 * s.length).fill(0);
  axes.forEach((a0, i) => {
    const a = a0 < 0 ? a0 + s.length : a0;
    const [b, e] = sliceRange(starts[i], ends[i], s[a]);
    pads[a] = b;
    pads[a + s.length] = s[a] - e;
  });
  return [g.op("Pad", [dy, g.i64(pads)])];
});
/** Nearest upsampling by integer factors (asymmetric/floor, as the exporters write it): each input pixel's gradient is the sum over its block. */
registerGradient("Resize", (c, [dy]) => {
  if (!dy) return [];
  const { g, node } = c;
  const x = inp(c, 0);
  const s = g.shape(x);
  const os = g.shape(dy);
  const mode = attrStr(node, "mode", "nearest");
  const ctm = attrStr(node, "coordinate_transformation_mode", "half_pixel");
  const nm = attrStr(node, "nearest_mode", "round_prefer_floor");
  const f = os.map((v, i) => v / s[i]);
  if (mode !== "nearest" || s.length !== 4 || f[0] !== 1 || f[1] !== 1 || !f.every((v) => Number.isInteger(v)) || ctm !== "asymmetric" || nm !== "floor") {
    throw new UnsupportedOpError("Resize", node.name, `is differentiable for nearest/asymmetric/floor upsampling by integer factors only (got ${mode}/${ctm}/${nm}, factors ${f.join(",")})`);
  }
  const [b, ch, h, w] = s;
  const r = g.op("Reshape", [dy, g.i64([b, ch, h, f[2], w, f[3]])]);
  return [g.op("ReduceSum", [r, g.i64([3, 5])], { keepdims: { i: 0 } })];
});
/** Gather on axis 0 (embedding lookup): dTable = onehot(indices)ᵀ · dy, a dense product like tfjs's one-hot embedding. */
registerGradient("Gather", (c, [dy]) => {
  if (!dy) return [];
  const { g, node } = c;
  if (c.needs(1)) throw new UnsupportedOpError("Gather", node.name, "has no gradient for its indices");
  if (attrInt(node, "axis", 0) !== 0) throw new UnsupportedOpError("Gather", node.name, "is differentiable on axis 0 only");
  const [table, idx] = [inp(c, 0), inp(c, 1)];
  const ts = g.shape(table);
  const v = ts[0];
  const dRow = numel(ts.slice(1));
  const idt = g.info(idx).dtype;
  const iota = idt === "int64" ? g.constant(BigInt64Array.from({ length: v }, (_, i) => BigInt(i)), [1, v], "int64") : g.constant(Int32Array.from({ length: v }, (_, i) => i), [1, v], "int32");
  const oh = g.op("Cast", [g.op("Equal", [g.op("Reshape", [idx, g.i64([-1, 1])]), iota])], { to: { i: 1 } });
  const prod = g.op("MatMul", [g.op("Transpose", [oh], { perm: { ints: [1, 0] } }), g.op("Reshape", [dy, g.i64([-1, dRow])])]);
  return [g.op("Reshape", [prod, g.i64(ts)]), null];
});

// ---------------------------------------------------------------------------------------------
// Reductions.

function reduceBack(c: GradContext, dy: string, axes: number[]): string {
  const { g } = c;
  const s = g.shape(inp(c, 0));
  const keepShape = s.map((v, i) => (axes.includes(i) ? 1 : v));
  return g.op("Expand", [g.op("Reshape", [dy, g.i64(keepShape)]), g.i64(s)]);
}
function reduceAxesOf(c: GradContext): number[] {
  const r = c.g.shape(inp(c, 0)).length;
  const ax = c.node.op === "ReduceSum" ? (c.node.inputs[1] ? c.g.constNumbers(inp(c, 1)) : null) : attrInts(c.node, "axes", null);
  if (c.node.op === "ReduceSum" && c.node.inputs[1] && !ax) throw new UnsupportedOpError("ReduceSum", c.node.name, "needs constant axes");
  return (ax ?? Array.from({ length: r }, (_, i) => i)).map((a) => (a < 0 ? a + r : a));
}
registerGradient("ReduceSum", (c, [dy]) => [dy && reduceBack(c, dy, reduceAxesOf(c)), null]);
registerGradient("ReduceMean", (c, [dy]) => {
  if (!dy) return [];
  const axes = reduceAxesOf(c);
  const s = c.g.shape(inp(c, 0));
  const n = axes.reduce((a, i) => a * s[i], 1);
  return [c.g.op("Div", [reduceBack(c, dy, axes), c.g.scalar(n)])];
});
registerGradient("ReduceSumSquare", (c, [dy]) => {
  if (!dy) return [];
  const { g } = c;
  return [g.op("Mul", [reduceBack(c, dy, reduceAxesOf(c)), g.op("Mul", [inp(c, 0), g.scalar(2)])])];
});
