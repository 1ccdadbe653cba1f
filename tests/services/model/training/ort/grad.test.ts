import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { mulberry32 } from "../../../../../services/data/index.js";
import { buildGradients, differentiableOps } from "../../../../../services/model/training/ort/grad.js";
import { Graph, numel, type Attr } from "../../../../../services/model/onnx/graph.js";
import { UnsupportedOpError } from "../../../../../services/model/core/errors.js";
import { createSession, ort } from "../../../../../services/model/training/ort/runtime.js";
import { assertClose, type Tolerance } from "../../../../helpers/close.js";

/**
 * A float32 central difference with eps 1e-2 carries truncation error O(eps²) and rounding error
 * of about 1e-7·|loss|/eps, hence the floor; a zeroed or sign-flipped rule fails wherever a
 * checked element's gradient exceeds it.
 */
const FD_TOLERANCE: Tolerance = { atol: 5e-4, rtol: 3e-3 };

interface In {
  shape: number[];
  /** Values drawn in ±[lo, hi] (signs random unless positive). */
  lo?: number;
  hi?: number;
  positive?: boolean;
  /** Not differentiated (constant data). */
  data?: boolean;
  int32?: number[];
  /** Distinct values 0.07 apart (shuffled), so that no max/min is within ε of a tie. */
  spaced?: boolean;
}

/**
 * Builds `ops(graph, inputs)`, reduces it to L = Σ y·R (R random), differentiates L with respect to
 * every float input, and checks each gradient element (or a seeded sample of them) against central
 * finite differences of L computed by onnxruntime on the forward graph.
 */
async function checkRule(ins: In[], ops: (g: Graph, x: string[]) => string, seed = 1): Promise<void> {
  const rng = mulberry32(seed);
  const values = ins.map((s) => {
    if (s.int32) return Int32Array.from(s.int32);
    if (s.spaced) {
      const v = Float32Array.from({ length: numel(s.shape) }, (_, i) => (i - numel(s.shape) / 2) * 0.07);
      for (let i = v.length - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        [v[i], v[j]] = [v[j], v[i]];
      }
      return v;
    }
    const lo = s.lo ?? 0.2;
    const hi = s.hi ?? 1.2;
    return Float32Array.from({ length: numel(s.shape) }, () => (lo + rng() * (hi - lo)) * (s.positive || rng() < 0.5 ? 1 : -1));
  });
  // Both graphs draw R from the same seed.
  const state = rng();
  const seedR = Math.floor(state * 2 ** 31);
  const mk = (withGrads: boolean) => {
    const r2 = mulberry32(seedR);
    const g = new Graph();
    const names = ins.map((s, k) => g.input(`x${k}`, s.int32 ? "int32" : "float32", s.shape));
    const y = ops(g, names);
    const r = g.constant(Float32Array.from({ length: numel(g.shape(y)) }, () => r2() * 2 - 1), g.shape(y));
    const loss = g.op("ReduceSum", [g.op("Mul", [y, r]), g.i64(g.shape(y).map((_, i) => i))], { keepdims: { i: 0 } }, "loss");
    g.output(loss);
    const wrt = names.filter((_, k) => !ins[k].data && !ins[k].int32);
    if (withGrads) {
      const grads = buildGradients(g, loss, wrt);
      wrt.forEach((w) => g.output(g.op("Identity", [grads.get(w)!], {}, `grad_${w}`)));
    }
    return { g, names, wrt };
  };
  const fwd = mk(false);
  const bwd = mk(true);
  const sf = await createSession(fwd.g.toOnnx(), { threads: 1 });
  const sb = await createSession(bwd.g.toOnnx(), { threads: 1 });
  const feeds = (vals: (Float32Array | Int32Array)[]) =>
    Object.fromEntries(vals.map((v, k) => [`x${k}`, new ort.Tensor(v instanceof Int32Array ? "int32" : "float32", v, ins[k].shape)]));
  try {
    const res = await sb.run(feeds(values));
    const lossAt = async (vals: (Float32Array | Int32Array)[]) => ((await sf.run(feeds(vals))).loss.data as Float32Array)[0];
    const eps = 1e-2;
    for (const w of bwd.wrt) {
      const k = Number(w.slice(1));
      const ga = res[`grad_${w}`].data as Float32Array;
      const n = ga.length;
      const idx = n <= 24 ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: 24 }, () => Math.floor(rng() * n));
      for (const i of idx) {
        const plus = values.map((v) => v.slice());
        const minus = values.map((v) => v.slice());
        plus[k][i] += eps;
        minus[k][i] -= eps;
        const fd = ((await lossAt(plus)) - (await lossAt(minus))) / (2 * eps);
        assertClose(ga[i], fd, FD_TOLERANCE, `input ${k} element ${i}: analytic gradient against the central difference`);
      }
    }
  } finally {
    await sf.release();
    await sb.release();
  }
}

const ints = (v: number[]): Attr => ({ ints: v });
const int = (v: number): Attr => ({ i: v });
const op = (name: string, attrs: Record<string, Attr> = {}) => (g: Graph, x: string[]) => g.op(name, x, attrs);

const convAttrs = (k: number, s: number, p: number[], group = 1, d = 1): Record<string, Attr> => ({
  kernel_shape: ints([k, k]),
  strides: ints([s, s]),
  pads: ints(p),
  dilations: ints([d, d]),
  group: int(group),
});

describe("ort-train gradient rules", () => {
  const cases: [string, In[], (g: Graph, x: string[]) => string][] = [
    ["Add with broadcasting", [{ shape: [2, 3, 4] }, { shape: [1, 4] }], op("Add")],
    ["Sub with broadcasting", [{ shape: [3, 1] }, { shape: [2, 3, 4] }], op("Sub")],
    ["Mul with broadcasting", [{ shape: [2, 3, 4] }, { shape: [3, 1] }], op("Mul")],
    ["Div with broadcasting", [{ shape: [2, 3, 4] }, { shape: [4], lo: 0.5, hi: 1.5, positive: true }], op("Div")],
    ["Min", [{ shape: [3, 4], lo: 0.1, hi: 0.5 }, { shape: [3, 4], lo: 0.7, hi: 1.2 }], (g, [a, b]) => g.op("Min", [g.op("Mul", [a, g.scalar(-1)]), b])],
    ["Max", [{ shape: [3, 4], lo: 0.1, hi: 0.5 }, { shape: [3, 4], lo: 0.7, hi: 1.2 }], (g, [a, b]) => g.op("Max", [a, g.op("Neg", [b])])],
    ["Pow by a constant", [{ shape: [5], positive: true }], (g, [a]) => g.op("Pow", [a, g.scalar(3)])],
    ["Sum of three with broadcasting", [{ shape: [2, 3] }, { shape: [3] }, { shape: [2, 1] }], op("Sum")],
    ["Where", [{ shape: [2, 3] }, { shape: [2, 3] }], (g, [a, b]) => g.op("Where", [g.constant(Uint8Array.from([1, 0, 1, 1, 0, 0]), [2, 3], "bool"), a, b])],
    ["Neg", [{ shape: [4] }], op("Neg")],
    ["Identity", [{ shape: [4] }], op("Identity")],
    ["Relu", [{ shape: [3, 5] }], op("Relu")],
    ["Abs", [{ shape: [3, 5] }], op("Abs")],
    ["Exp", [{ shape: [3, 5] }], op("Exp")],
    ["Log", [{ shape: [3, 5], positive: true, lo: 0.5, hi: 2 }], op("Log")],
    ["Sqrt", [{ shape: [3, 5], positive: true, lo: 0.5, hi: 2 }], op("Sqrt")],
    ["Reciprocal", [{ shape: [6], positive: true, lo: 0.5, hi: 2 }], op("Reciprocal")],
    ["Sigmoid", [{ shape: [3, 5] }], op("Sigmoid")],
    ["Tanh", [{ shape: [3, 5] }], op("Tanh")],
    ["Softplus", [{ shape: [3, 5] }], op("Softplus")],
    ["Clip", [{ shape: [4, 5], lo: 0, hi: 2 }], (g, [a]) => g.op("Clip", [g.op("Add", [g.op("Mul", [a, g.scalar(1.7)]), g.scalar(0.05)]), g.scalar(-1), g.scalar(1)])],
    ["MatMul activation × weight", [{ shape: [2, 3, 4] }, { shape: [4, 5] }], op("MatMul")],
    ["MatMul batched", [{ shape: [2, 2, 3, 4] }, { shape: [2, 2, 4, 5] }], op("MatMul")],
    ["MatMul with broadcast batch", [{ shape: [2, 1, 3, 4] }, { shape: [3, 4, 2] }], op("MatMul")],
    ["Gemm", [{ shape: [3, 4] }, { shape: [5, 4] }, { shape: [5] }], op("Gemm", { transB: int(1), alpha: { f: 0.7 }, beta: { f: 1.3 } })],
    ["Gemm transA", [{ shape: [4, 3] }, { shape: [4, 5] }], op("Gemm", { transA: int(1) })],
    ["Conv 3×3 stride 1", [{ shape: [2, 3, 6, 5] }, { shape: [4, 3, 3, 3] }, { shape: [4] }], op("Conv", convAttrs(3, 1, [1, 1, 1, 1]))],
    ["Conv 3×3 stride 2 on odd sizes", [{ shape: [2, 3, 7, 9] }, { shape: [4, 3, 3, 3] }, { shape: [4] }], op("Conv", convAttrs(3, 2, [1, 1, 1, 1]))],
    ["Conv 1×1", [{ shape: [2, 4, 5, 5] }, { shape: [3, 4, 1, 1] }, { shape: [3] }], op("Conv", convAttrs(1, 1, [0, 0, 0, 0]))],
    ["Conv 5×5 stride 2 asymmetric pads", [{ shape: [1, 2, 9, 8] }, { shape: [3, 2, 5, 5] }], op("Conv", convAttrs(5, 2, [2, 1, 1, 2]))],
    ["Conv grouped (2 groups)", [{ shape: [2, 4, 6, 6] }, { shape: [6, 2, 3, 3] }, { shape: [6] }], op("Conv", convAttrs(3, 1, [1, 1, 1, 1], 2))],
    ["Conv depthwise stride 2", [{ shape: [2, 4, 7, 7] }, { shape: [4, 1, 3, 3] }, { shape: [4] }], op("Conv", convAttrs(3, 2, [1, 1, 1, 1], 4))],
    ["Conv dilated", [{ shape: [1, 2, 9, 9] }, { shape: [2, 2, 3, 3] }], op("Conv", convAttrs(3, 1, [2, 2, 2, 2], 1, 2))],
    [
      "BatchNormalization (inference form)",
      [{ shape: [2, 3, 4, 5] }, { shape: [3] }, { shape: [3] }, { shape: [3], data: true }, { shape: [3], data: true, positive: true, lo: 0.5, hi: 2 }],
      op("BatchNormalization", { epsilon: { f: 1e-5 } }),
    ],
    ["Softmax last axis", [{ shape: [2, 3, 5] }], op("Softmax", { axis: int(-1) })],
    ["Softmax middle axis", [{ shape: [2, 4, 3] }], op("Softmax", { axis: int(1) })],
    ["LayerNormalization", [{ shape: [2, 3, 6] }, { shape: [6] }, { shape: [6] }], op("LayerNormalization", { axis: int(-1), epsilon: { f: 1e-5 } })],
    ["Reshape", [{ shape: [2, 3, 4] }], (g, [a]) => g.op("Exp", [g.op("Reshape", [a, g.i64([0, -1])])])],
    ["Transpose", [{ shape: [2, 3, 4] }], (g, [a]) => g.op("Exp", [g.op("Transpose", [a], { perm: ints([2, 0, 1]) })])],
    ["Concat", [{ shape: [2, 3, 2] }, { shape: [2, 1, 2] }], op("Concat", { axis: int(1) })],
    ["Slice", [{ shape: [3, 6, 4] }], (g, [a]) => g.op("Slice", [a, g.i64([1, -3]), g.i64([5, 100]), g.i64([1, -1])])],
    ["Squeeze and Unsqueeze", [{ shape: [2, 1, 3] }], (g, [a]) => g.op("Unsqueeze", [g.op("Exp", [g.op("Squeeze", [a, g.i64([1])])]), g.i64([0])])],
    ["Expand", [{ shape: [3, 1] }], (g, [a]) => g.op("Expand", [a, g.i64([2, 3, 4])])],
    ["Resize nearest ×2", [{ shape: [1, 2, 3, 4] }], (g, [a]) => g.op("Resize", [a, "", g.constant(Float32Array.from([1, 1, 2, 2]), [4])], { mode: { s: "nearest" }, coordinate_transformation_mode: { s: "asymmetric" }, nearest_mode: { s: "floor" } })],
    ["Gather rows (embedding, repeated ids)", [{ shape: [7, 3] }, { shape: [2, 4], int32: [1, 3, 3, 0, 6, 1, 1, 2] }], op("Gather", { axis: int(0) })],
    ["ReduceSum keepdims 0", [{ shape: [2, 3, 4] }], (g, [a]) => g.op("ReduceSum", [a, g.i64([0, 2])], { keepdims: int(0) })],
    ["ReduceMean", [{ shape: [2, 3, 4] }], op("ReduceMean", { axes: ints([-1]), keepdims: int(1) })],
    ["ReduceSumSquare", [{ shape: [2, 3, 4] }], op("ReduceSumSquare", { axes: ints([1]), keepdims: int(0) })],
    ["MaxPool 3×3 stride 2 with pads", [{ shape: [2, 2, 7, 6], spaced: true }], op("MaxPool", { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) })],
    ["MaxPool 5×5 stride 1 (overlapping windows, as SPP)", [{ shape: [1, 2, 6, 6], spaced: true }], op("MaxPool", { kernel_shape: ints([5, 5]), strides: ints([1, 1]), pads: ints([2, 2, 2, 2]) })],
    ["fan-out (a value used three times)", [{ shape: [3, 4] }], (g, [a]) => g.op("Add", [g.op("Mul", [a, a]), g.op("Exp", [a])])],
  ];
  for (const [label, ins, f] of cases) {
    it(`ort-train grad - ${label} matches finite differences`, async () => checkRule(ins, f));
  }

  it("ort-train grad - every registered rule has a finite-difference case above", () => {
    const covered = new Set(cases.flatMap(([l]) => l.split(/[\s,()]+/)));
    const missing = differentiableOps().filter((o) => o !== "Cast" && !covered.has(o));
    assert.deepEqual(missing, []);
  });

  it("ort-train grad - an op without a rule is refused by name", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [1, 1, 4, 4]);
    const y = g.op("ReduceMax", [x], { axes: ints([2, 3]), keepdims: int(0) });
    const l = g.op("ReduceSum", [y, g.i64([0, 1])], { keepdims: int(0) });
    assert.throws(() => buildGradients(g, l, [x]), (e: unknown) => e instanceof UnsupportedOpError && /ReduceMax/.test((e as Error).message));
  });

  it("ort-train grad - a strided Slice is refused by name rather than differentiated wrongly", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [1, 1, 4, 4]);
    const y = g.op("Slice", [x, g.i64([0, 0]), g.i64([4, 4]), g.i64([2, 3]), g.i64([2, 2])]);
    const l = g.op("ReduceSum", [y, g.i64([0, 1, 2, 3])], { keepdims: int(0) });
    assert.throws(() => buildGradients(g, l, [x]), (e: unknown) => e instanceof UnsupportedOpError && /Slice.*step 1/.test((e as Error).message));
  });

  it("ort-train grad - frozen parameters get no gradient subgraph", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [1, 2, 5, 5]);
    const w1 = g.input("w1", "float32", [2, 2, 3, 3]);
    const w2 = g.input("w2", "float32", [2, 2, 3, 3]);
    const a = convAttrs(3, 1, [1, 1, 1, 1]);
    const h = g.op("Relu", [g.op("Conv", [x, w1], a)]);
    const y = g.op("Conv", [h, w2], a);
    const l = g.op("ReduceSum", [y, g.i64([0, 1, 2, 3])], { keepdims: int(0) });
    const before = g.nodes.length;
    buildGradients(g, l, [w2]);
    const added = g.nodes.slice(before);
    // dW2 is computed; nothing flows back into h (no ConvTranspose, no Relu mask), nor to w1.
    assert.equal(added.filter((n) => n.op === "ConvTranspose").length, 0);
    assert.equal(added.filter((n) => n.op === "Where").length, 0, "no Relu gradient");
    assert.ok(added.some((n) => n.op === "MatMul"), "dW2's product");
    assert.ok(!added.some((n) => n.inputs.includes(w1)), "no backward node reads the frozen w1");
  });
});
