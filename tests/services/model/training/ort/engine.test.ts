import { strict as assert } from "node:assert";
import { before, describe, it } from "node:test";
import { createDetector, initBackend, modelConfig, trainDetector, trainOptionsFor } from "../../../../../services/model/index.js";
import { OrtWorkerTrainer } from "../../../../../services/model/training/ort/engine.js";
import { OrtStepper } from "../../../../../services/model/training/ort/stepper.js";
import { makeToyDataset } from "../../helpers.js";
import { syntheticBatch } from "./fixtures.js";
import { assertClose } from "../../../../helpers/close.js";

/** Largest gap between ticks of a 20 ms interval while `work` runs (how late a heartbeat would be). */
async function maxTimerGap<T>(work: () => Promise<T>): Promise<{ gap: number; ms: number; value: T }> {
  let last = performance.now();
  let gap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
  }, 20);
  const t0 = performance.now();
  try {
    const value = await work();
    const ms = performance.now() - t0;
    gap = Math.max(gap, performance.now() - last);
    return { gap, ms, value };
  } finally {
    clearInterval(timer);
  }
}

describe("ort-train engine", () => {
  before(async () => {
    await initBackend("wasm");
  });

  it("ort-train engine - trainDetector with engine ort reports progress per step, leaves weights within 1e-3 of tfjs-trained ones in the detector, and starts from tfjs's first loss", async () => {
    const ds = await makeToyDataset({ images: 6, seed: 3 });
    const cfg = modelConfig("nano");
    const opts = { ...trainOptionsFor("nano"), batchSize: 3, steps: 4, seed: 2, threads: 1 };
    const ref = createDetector(cfg, 1);
    const refRun = await trainDetector(ref, ds, { ...opts, engine: "tfjs" });
    const det = createDetector(cfg, 1);
    const before = det.getWeights();
    const progress: number[] = [];
    const busy: number[] = [];
    const t0 = performance.now();
    const run = await trainDetector(det, ds, {
      ...opts,
      engine: "ort",
      onProgress: (p) => {
        progress.push(p.step);
        busy.push(p.engineBusySeconds ?? Number.NaN);
      },
    });
    const wallSeconds = (performance.now() - t0) / 1000;
    try {
      assert.deepEqual(progress, [1, 2, 3, 4]);
      assert.ok(busy[0] > 0 && busy.every((b, i) => i === 0 || b > busy[i - 1]), `the worker's busy seconds grow with each step: ${busy}`);
      assert.ok(busy[3] < wallSeconds, `busy ${busy[3]} s within the ${wallSeconds} s of training`);
      assert.equal(run.steps, 4);
      assertClose(run.losses[0], refRun.losses[0], { atol: 1e-6, rtol: 1e-4 }, "first loss against tfjs");
      const after = det.getWeights();
      const want = ref.getWeights();
      let moved = 0;
      for (const [n, t] of after) {
        if (t.data.some((v, i) => v !== before.get(n)!.data[i])) moved++;
        const w = want.get(n)!.data;
        assertClose(t.data, w, { atol: 1e-3, rtol: 1e-3 }, `${n} against the tfjs-trained weights`);
      }
      assert.ok(moved > after.size / 2, `${moved} of ${after.size} tensors changed`);
    } finally {
      ref.dispose();
      det.dispose();
    }
  });

  it("ort-train engine - timers keep firing on time during a long training step (the step runs on a worker thread)", async () => {
    const cfg = modelConfig("nano");
    const det = createDetector(cfg, 4);
    const opts = { ...trainOptionsFor("nano"), warmupSteps: 1 };
    const trainer = await OrtWorkerTrainer.start(cfg, det.getWeights(), opts, { threads: 1 });
    const inline = new OrtStepper(cfg, det.getWeights(), opts, { threads: 1 });
    try {
      // A quiet, fast host steps 16 images in about 110 ms, too short to tell a stalled timer from a
      // busy one: the batch doubles until a worker step is long enough to matter.
      const timedStep = async (size: number) => {
        const batch = syntheticBatch(cfg, size, 5);
        await trainer.step(batch, 10); // builds the session for this batch size
        return { batch, worker: await maxTimerGap(() => trainer.step(batch, 10)) };
      };
      let size = 16;
      let { batch, worker } = await timedStep(size);
      while (worker.ms < 300 && size < 128) ({ batch, worker } = await timedStep((size *= 2)));
      await inline.step(batch, 10);
      const blocking = await maxTimerGap(() => inline.step(batch, 10));
      // Control: the same step on the main thread stalls the timer for about the whole step.
      assert.ok(blocking.gap >= 0.8 * blocking.ms, `in-thread control: gap ${blocking.gap.toFixed(0)} ms over a ${blocking.ms.toFixed(0)} ms step`);
      assert.ok(worker.ms >= 150, `the step should be long enough to matter (${worker.ms.toFixed(0)} ms)`);
      assert.ok(worker.gap <= Math.max(120, worker.ms / 4), `timer gap ${worker.gap.toFixed(0)} ms during a ${worker.ms.toFixed(0)} ms worker step`);
      assert.ok(Number.isFinite(worker.value.loss));
    } finally {
      await trainer.close();
      await inline.release();
      det.dispose();
    }
  });

  it("ort-train engine - steps queued before the previous one ends run one at a time, in order: the same losses and weights as awaiting each", async () => {
    const cfg = modelConfig("nano");
    const det = createDetector(cfg, 5);
    const batches = [syntheticBatch(cfg, 2, 1), syntheticBatch(cfg, 2, 2), syntheticBatch(cfg, 2, 3)];
    const opts = { ...trainOptionsFor("nano"), warmupSteps: 1 };
    const awaited = await OrtWorkerTrainer.start(cfg, det.getWeights(), opts, { threads: 1 });
    const queued = await OrtWorkerTrainer.start(cfg, det.getWeights(), opts, { threads: 1 });
    try {
      const one: number[] = [];
      for (const b of batches) one.push((await awaited.step(b, 10)).loss);
      // All three posted at once, and a weights request behind them: it must see all three steps.
      const [results, weights] = await Promise.all([Promise.all(batches.map((b) => queued.step(b, 10))), queued.getWeights()]);
      assert.deepEqual(results.map((r) => r.loss), one);
      const want = await awaited.getWeights();
      for (const [n, t] of want) assert.deepEqual(weights.get(n)!.data, t.data, n);
    } finally {
      await awaited.close();
      await queued.close();
      det.dispose();
    }
  });

  it("ort-train engine - aborting during a step rejects at once with the abort reason and ends the worker", async () => {
    const cfg = modelConfig("nano");
    const det = createDetector(cfg, 4);
    const batch = syntheticBatch(cfg, 16, 6);
    const trainer = await OrtWorkerTrainer.start(cfg, det.getWeights(), { ...trainOptionsFor("nano"), warmupSteps: 1 }, { threads: 1 });
    try {
      const ac = new AbortController();
      const reason = new Error("cancelled by the coordinator");
      setTimeout(() => ac.abort(reason), 30);
      const t0 = performance.now();
      await assert.rejects(trainer.step(batch, 10, ac.signal), (e) => e === reason);
      assert.ok(performance.now() - t0 < 1000, "rejected while the first step (with session build) would still be running");
      await assert.rejects(trainer.getWeights(), /exited|closed|terminated/);
    } finally {
      await trainer.close();
      det.dispose();
    }
  });
});
