import { strict as assert } from "node:assert";
import { before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { Trainer, createDetector, encodeCaption, imageLosses, initBackend, modelConfig, packBatch, trainOptionsFor } from "../../../../services/model/index.js";
import { loadSample } from "../../../../services/data/index.js";
import { makeToyDataset } from "../helpers.js";

describe("per-image loss", () => {
  before(async () => {
    await initBackend("wasm");
  });

  it("imageLosses - each image's loss is the training loss of a one-image batch at the same weights", async () => {
    const cfg = modelConfig("nano", { inputSize: 64 });
    const ds = await makeToyDataset({ images: 3, seed: 4 });
    const det = createDetector(cfg, 2);
    const losses = await imageLosses(det, ds, [2, 0]);
    const caption = encodeCaption(ds.categories, cfg);
    for (const [k, index] of [2, 0].entries()) {
      // Trainer.step returns the loss of the forward pass before its update; a fresh detector per image keeps the weights equal.
      const fresh = createDetector(cfg, 2);
      const trainer = new Trainer(fresh, { ...trainOptionsFor("nano"), augment: false });
      const sample = await loadSample(ds, index, { size: cfg.inputSize });
      const reference = trainer.step(packBatch(cfg, [sample], [caption]), 1);
      assert.ok(Math.abs(losses[k] - reference) <= 1e-5 * Math.abs(reference), `image ${index}: ${losses[k]} vs ${reference}`);
      trainer.dispose();
      fresh.dispose();
    }
    assert.notEqual(losses[0], losses[1], "two images, two losses");
    const before = tf.memory().numTensors;
    await imageLosses(det, ds, [0, 1, 2]);
    assert.equal(tf.memory().numTensors, before, "no tensor left behind");
    det.dispose();
  });
});
