import { strict as assert } from "node:assert";
import { before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import {
  Trainer,
  createDetector,
  createOnnxDetector,
  exportOnnx,
  encodeCaption,
  initBackend,
  modelConfig,
  packBatch,
  predictDataset,
  trainDetector,
  trainOptionsFor,
} from "../../../../services/model/index.js";
import { loadSample, makeDataset } from "../../../../services/data/index.js";
import { ap50, makeToyDataset } from "../helpers.js";

describe("training", () => {
  before(async () => {
    await initBackend("wasm");
  });

  it("training - tf.memory().numTensors is flat across training steps", async () => {
    const cfg = modelConfig("nano", { inputSize: 64 });
    const ds = await makeToyDataset({ images: 4, seed: 3 });
    const det = createDetector(cfg, 1);
    const trainer = new Trainer(det, { ...trainOptionsFor("nano"), warmupSteps: 1 });
    const caption = encodeCaption(ds.categories, cfg);
    const samples = await Promise.all([0, 1, 2, 3].map((i) => loadSample(ds, i, { size: cfg.inputSize })));
    const batch = packBatch(cfg, samples, samples.map(() => caption));
    trainer.step(batch, 10);
    const counts: number[] = [];
    for (let i = 0; i < 4; i++) {
      trainer.step(batch, 10);
      counts.push(tf.memory().numTensors);
    }
    assert.deepEqual(counts, [counts[0], counts[0], counts[0], counts[0]]);
    trainer.dispose();
    det.dispose();
  });

  it("training - images from several tasks (pooled or replayed) are captioned with their own categories, so the caption fits", async () => {
    const cfg = modelConfig("nano", { inputSize: 64 });
    const ds = await makeToyDataset({ images: 4, seed: 5 });
    // Four tasks' exemplars, one image each, whose prompts together exceed the model's 32 tokens.
    const words = (k: number) => Array.from({ length: 7 }, (_, j) => `w${k}x${j}`).join(" ");
    const categories = [1, 2, 3, 4].map((id) => ({ id, name: `class-${id}`, prompt: { prefix: "", name: words(id), suffix: "" } }));
    const annotations = ds.annotations.map((a) => ({ ...a, category_id: a.image_id }));
    const opts = { ...trainOptionsFor("nano"), batchSize: 4, steps: 2, seed: 1, augment: false as const };
    const det = createDetector(cfg, 1);
    const oneCaption = makeDataset(ds.dir, ds.images, annotations, categories);
    await assert.rejects(trainDetector(det, ds, { ...opts, replay: { dataset: oneCaption, ratio: 0.5 } }), /maxTokens/);
    const ownCaptions = makeDataset(ds.dir, ds.images.map((im) => ({ ...im, caption_categories: [im.id] })), annotations, categories);
    const r = await trainDetector(det, ds, { ...opts, replay: { dataset: ownCaptions, ratio: 0.5 } });
    assert.equal(r.steps, 2);
    assert.ok(r.losses.every(Number.isFinite));
    // The same holds for the training set itself (a pool of several tasks).
    const pooled = await trainDetector(det, ownCaptions, opts);
    assert.ok(pooled.losses.every(Number.isFinite));
    await assert.rejects(trainDetector(det, oneCaption, opts), /maxTokens/);
    det.dispose();
  });

  it("training - loss falls, the detector overfits a small training set to AP50 > 0.5, and ONNX gives the same AP50", async () => {
    const cfg = modelConfig("nano", { inputSize: 64 });
    const ds = await makeToyDataset({ images: 16, seed: 11 });
    const det = createDetector(cfg, 7);
    const before = ap50(ds, await predictDataset(det, ds));
    const res = await trainDetector(det, ds, { ...trainOptionsFor("nano"), batchSize: 8, steps: Number(process.env.MEDFCL_TEST_STEPS ?? 100), seed: 1 });
    const first = res.losses.slice(0, 5).reduce((a, b) => a + b, 0) / 5;
    const last = res.losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
    const after = ap50(ds, await predictDataset(det, ds));
    if (process.env.MEDFCL_TEST_VERBOSE) console.log({ before, after, first, last, ips: res.imagesPerSec });
    assert.ok(last < first * 0.5, `loss ${first} -> ${last}`);
    assert.ok(after > 0.5, `AP50 after training ${after} (before ${before})`);
    // The ONNX engine (central evaluation) scores the trained model the same as tfjs.
    const onnxDet = await createOnnxDetector(exportOnnx(cfg, det.getWeights()), cfg, { threads: 1 });
    const viaOnnx = ap50(ds, await onnxDet.predictDataset(ds));
    await onnxDet.close();
    assert.ok(Math.abs(viaOnnx - after) <= 1e-3, `onnx AP50 ${viaOnnx} vs tfjs ${after}`);
    det.dispose();
  });
});
