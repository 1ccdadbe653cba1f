import { strict as assert } from "node:assert";
import { before, describe, it } from "node:test";
import { Trainer, createDetector, emaDecayAt, initBackend, modelConfig, type TensorMap, trainOptionsFor } from "../../../../../services/model/index.js";
import { OrtStepper } from "../../../../../services/model/training/ort/stepper.js";
import { syntheticBatch } from "./fixtures.js";

/** Largest |a − b| over every tensor. */
function maxAbs(a: TensorMap, b: TensorMap): number {
  let e = 0;
  for (const [n, t] of a) {
    const u = b.get(n)!.data;
    for (let i = 0; i < t.data.length; i++) e = Math.max(e, Math.abs(t.data[i] - u[i]));
  }
  return e;
}

describe("weight averaging (EMA)", () => {
  before(async () => {
    await initBackend("wasm");
  });

  it("ema - the decay ramps in and is capped", () => {
    assert.equal(emaDecayAt(0.999, 0), 0.1);
    assert.equal(emaDecayAt(0.999, 10), 11 / 20);
    assert.equal(emaDecayAt(0.999, 1e6), 0.999);
  });

  it("ema - the tfjs Trainer returns the average of its step weights; the onnxruntime stepper returns the same average", async () => {
    const cfg = modelConfig("nano");
    const det = createDetector(cfg, 5);
    const opts = { ...trainOptionsFor("nano"), warmupSteps: 2, emaDecay: 0.9 };
    const start = det.getWeights();
    const st = new OrtStepper(cfg, start, opts, { threads: 2 });
    const tr = new Trainer(det, opts);
    try {
      const batches = [0, 1].map((i) => syntheticBatch(cfg, 2, 70 + i));
      let ema = new Map([...start].map(([n, t]) => [n, Float32Array.from(t.data)]));
      const trainable = new Set(st.trainable.map((s) => s.name));
      for (let s = 0; s < 5; s++) {
        tr.step(batches[s % 2], 5);
        await st.step(batches[s % 2], 5);
        const raw = det.getWeights();
        const d = emaDecayAt(0.9, s + 1);
        ema = new Map([...ema].map(([n, e]) => [n, trainable.has(n) ? e.map((v, i) => d * v + (1 - d) * raw.get(n)!.data[i]) : e]));
      }
      const averaged = tr.weights();
      const manual: TensorMap = new Map([...averaged].map(([n, t]) => [n, { ...t, data: ema.get(n)! }]));
      assert.ok(maxAbs(averaged, manual) < 1e-6, `tfjs average vs the average of its steps: ${maxAbs(averaged, manual)}`);
      assert.ok(maxAbs(averaged, det.getWeights()) > 1e-4, "the average is not the last step's weights");
      // Both engines step alike to ~1e-3 (parity.test.ts), so their averages agree as closely.
      assert.ok(maxAbs(st.getWeights(), averaged) < 1e-3, `onnxruntime average vs tfjs average: ${maxAbs(st.getWeights(), averaged)}`);
      tr.commitAverage();
      assert.ok(maxAbs(det.getWeights(), averaged) === 0, "the end of training puts the average into the detector");
    } finally {
      tr.dispose();
      await st.release();
      det.dispose();
    }
  });
});
