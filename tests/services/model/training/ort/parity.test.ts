import { strict as assert } from "node:assert";
import { before, describe, it } from "node:test";
import { Trainer, createDetector, initBackend, modelConfig, type TensorMap, createModel, trainOptionsFor } from "../../../../../services/model/index.js";
import { tf } from "../../../../../services/model/tfjs/backend.js";
import { ensureGradients } from "../../../../../services/model/tfjs/gradients.js";
import { detectionLoss } from "../../../../../services/model/tfjs/loss.js";
import { forward } from "../../../../../services/model/families/index.js";
import { locations } from "../../../../../services/model/tfjs/model.js";
import { OrtStepper } from "../../../../../services/model/training/ort/stepper.js";
import { assignTargets } from "../../../../../services/model/training/targets.js";
import type { TfDetector } from "../../../../../services/model/tfjs/detector.js";
import type { TrainBatch } from "../../../../../services/model/training/schedule.js";
import { syntheticBatch } from "./fixtures.js";
import { readFileSync } from "node:fs";
import { detectorFromWeights } from "../../../../../services/model/index.js";
import { haveShared, YOLOX_NANO_ONNX } from "../../../../helpers/shared.js";
import { assertClose, type Tolerance } from "../../../../helpers/close.js";

/** tfjs autodiff of the same loss (the reference), for the given parameter names. */
function tfjsGradients(det: TfDetector, batch: TrainBatch, names: string[]): { loss: number; grads: TensorMap } {
  const cfg = det.config;
  const b = batch.targets.length;
  const loc = locations(cfg);
  const t = assignTargets(cfg, loc, batch.targets, cfg.maxTokens);
  const out: TensorMap = new Map();
  let loss = 0;
  tf.tidy(() => {
    const vars = names.map((n) => det.vars.get(n)!);
    const mask = tf.tensor2d(batch.mask, [b, cfg.maxTokens]);
    const { value, grads } = tf.variableGrads(() => {
      const out = forward(cfg, det.lookup, tf.tensor4d(batch.images, [b, batch.size, batch.size, 3]), tf.tensor2d(batch.ids, [b, cfg.maxTokens], "int32"), mask);
      return detectionLoss(out, t, mask, tf.tensor1d(loc.stride), undefined, cfg.quality).total;
    }, vars);
    names.forEach((n, i) => out.set(n, { dtype: "float32", shape: [...vars[i].shape], data: grads[vars[i].name].dataSync() as Float32Array }));
    loss = value.dataSync()[0];
  });
  return { loss, grads: out };
}

/**
 * onnxruntime's graph gradients against tfjs autodiff. Measured on nano: |Δ| ≤ 6.1e-5 where the
 * tensor's largest |g| is 69, ≤ 3.1e-6 of each tensor's largest |g|. Every trainable tensor's
 * largest |g| is above 1e-2 except those whose exact gradient is 0 (the attention key bias, to
 * which softmax is invariant; YOLOX convs that feed nothing), so a zeroed or sign-flipped tensor
 * fails here.
 */
const GRADIENT_TOLERANCE: Tolerance = { atol: 2e-5, rtol: 5e-4 };
const LOSS_TOLERANCE: Tolerance = { atol: 1e-6, rtol: 1e-4 };

describe("ort-train parity with tfjs", () => {
  before(async () => {
    await initBackend("wasm");
    // The reference gradients below come from tf.variableGrads directly, not from a Trainer.
    ensureGradients();
  });

  for (const freezeStages of [0, 2]) {
    it(`ort-train parity - nano (freeze ${freezeStages}): every trainable parameter's gradient matches tfjs within 2e-5 + 5e-4·|g|`, async () => {
      const cfg = modelConfig("nano");
      const det = createDetector(cfg, 3);
      const st = new OrtStepper(cfg, det.getWeights(), { ...trainOptionsFor("nano"), freezeStages }, { threads: 2 });
      try {
        const batch = syntheticBatch(cfg, 4, 7);
        const ort = await st.gradients(batch);
        const names = st.trainable.map((s) => s.name);
        assert.equal(names.length, det.specs.length - (freezeStages === 2 ? 4 : 0));
        assert.ok(!names.includes("image.stem.weight") || freezeStages === 0, "the stem is frozen");
        const ref = tfjsGradients(det, batch, names);
        assertClose(ort.loss, ref.loss, LOSS_TOLERANCE, "loss");
        assert.equal(ort.grads.size, names.length);
        for (const n of names) assertClose(ort.grads.get(n)!.data, ref.grads.get(n)!.data, GRADIENT_TOLERANCE, `gradient of ${n}`);
      } finally {
        await st.release();
        det.dispose();
      }
    });
  }

  describe("on the pretrained base", () => {
    if (!haveShared("ort-train yolox parity", [YOLOX_NANO_ONNX()])) return;
    it("ort-train parity - yolox-nano (freeze 2): every trainable parameter's gradient matches tfjs within 2e-5 + 5e-4·|g|", async () => {
      const { config, weights } = createModel("yolox-nano", { seed: 3, baseWeights: readFileSync(YOLOX_NANO_ONNX()), inputSize: 64 });
      const det = detectorFromWeights(config, weights);
      const st = new OrtStepper(config, det.getWeights(), { ...trainOptionsFor("nano"), freezeStages: 2 }, { threads: 2 });
      try {
        const batch = syntheticBatch(config, 2, 11);
        const ort = await st.gradients(batch);
        const names = st.trainable.map((s) => s.name);
        const frozen = Object.entries(config.backbone!.params).filter(([, p]) => p.group === "stem" || p.group === "stage1").map(([n]) => n);
        assert.ok(frozen.length > 0 && frozen.every((n) => !names.includes(n)), "stem and dark2 get no gradient");
        const ref = tfjsGradients(det, batch, names);
        assertClose(ort.loss, ref.loss, LOSS_TOLERANCE, "loss");
        for (const n of names) assertClose(ort.grads.get(n)!.data, ref.grads.get(n)!.data, GRADIENT_TOLERANCE, `gradient of ${n}`);
      } finally {
        await st.release();
        det.dispose();
      }
    });
  });

  it("ort-train step - one step applies AdamW (two lr groups, decay on weights only, global-norm clip) to the graph's own gradients", async () => {
    const cfg = modelConfig("nano");
    const det = createDetector(cfg, 5);
    // The raw step's weights: no moving average (ema.test.ts covers that).
    const opts = { ...trainOptionsFor("nano"), lr: 3e-3, textLr: 7e-4, weightDecay: 0.2, gradClip: 2, warmupSteps: 4, freezeStages: 1, emaDecay: 0 };
    const st = new OrtStepper(cfg, det.getWeights(), opts, { threads: 2 });
    try {
      const batch = syntheticBatch(cfg, 2, 9);
      const w0 = st.getWeights();
      const { grads } = await st.gradients(batch);
      const r = await st.step(batch, 100);
      const w1 = st.getWeights();
      let sq = 0;
      for (const g of grads.values()) for (const v of g.data) sq += v * v;
      const norm = Math.sqrt(sq);
      assert.ok(Math.abs(r.gradNorm - norm) / norm <= 1e-4, `grad norm ${r.gradNorm} vs ${norm}`);
      assert.ok(norm > opts.gradClip, "the test needs clipping to be active");
      const scale = Math.min(1, opts.gradClip / (norm + 1e-6));
      const factor = 1 / opts.warmupSteps;
      const trainable = new Set(st.trainable.map((s) => s.name));
      const frozen = new Set(det.specs.filter((s) => !trainable.has(s.name)).map((s) => s.name));
      assert.ok(frozen.has("image.stem.weight") && !frozen.has("image.stage1.0.weight"), "freezeStages 1 freezes the stem only");
      for (const spec of det.specs) {
        const a = w0.get(spec.name)!.data;
        const b = w1.get(spec.name)!.data;
        if (frozen.has(spec.name)) {
          assert.deepEqual(b, a, `${spec.name} is frozen`);
          continue;
        }
        const lr = (spec.group === "text" ? opts.textLr : opts.lr) * factor;
        const g = grads.get(spec.name)!.data;
        for (let i = 0; i < a.length; i++) {
          const gi = g[i] * scale;
          const m = 0.1 * gi;
          const v = 0.001 * gi * gi;
          let upd = ((m / 0.1) / (Math.sqrt(v / 0.001) + 1e-8)) * lr;
          if (spec.decay) upd += a[i] * lr * opts.weightDecay;
          const want = a[i] - upd;
          assert.ok(Math.abs(b[i] - want) <= 1e-6 + 1e-3 * Math.abs(upd), `${spec.name}[${i}]: ${b[i]} vs ${want} (update ${upd})`);
        }
      }
    } finally {
      await st.release();
      det.dispose();
    }
  });

  // Over many steps the engines drift apart: parameters whose exact gradient is 0 (e.g. the attention
  // key bias, to which softmax is invariant) get float-noise gradients, and Adam turns noise of any size into ±lr steps.
  it("ort-train parity - nano: 8 AdamW steps give the tfjs Trainer's losses within 1e-4 + 1e-3·|loss| and its weights within 1e-3 + 1e-3·|w|", async () => {
    const cfg = modelConfig("nano");
    const det = createDetector(cfg, 11);
    // Raw weights on both sides (the moving average is compared in ema.test.ts).
    const opts = { ...trainOptionsFor("nano"), warmupSteps: 3, emaDecay: 0 };
    const st = new OrtStepper(cfg, det.getWeights(), opts, { threads: 2 });
    const tr = new Trainer(det, opts);
    try {
      const batches = [0, 1, 2].map((i) => syntheticBatch(cfg, 2, 50 + i));
      for (let s = 0; s < 8; s++) {
        const ref = tr.step(batches[s % 3], 8);
        const got = (await st.step(batches[s % 3], 8)).loss;
        assertClose(got, ref, { atol: 1e-4, rtol: 1e-3 }, `step ${s}: loss`);
      }
      const wr = det.getWeights();
      const wo = st.getWeights();
      // Weights, not gradients: each drifts by float-noise Adam steps of about lr, hence the floor.
      for (const [n, t] of wr) assertClose(wo.get(n)!.data, t.data, { atol: 1e-3, rtol: 1e-3 }, n);
    } finally {
      tr.dispose();
      await st.release();
      det.dispose();
    }
  });
});
