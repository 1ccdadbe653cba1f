/**
 * Training throughput end to end: images/s of `trainDetector` (what `medfcl train` and every agent
 * run: decode, augment, pack, then the onnxruntime step on its worker thread) against the bare
 * step on batches packed beforehand, with the same model, input size, batch, threads and data, in
 * the same process. The bare step runs before and after the epochs, so a change in load shows as a
 * gap between the two bare rows.
 *
 *   npx tsx bench/train-throughput.ts --data ../shared/datasets-converted/kvasir/train [--size 256]
 *     [--epochs 3] [--steps 40] [--threads 2] [--batch 4]
 *
 * Without --data it synthesizes the small synthetic kvasir domain into a temp folder.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { decodedImages, loadCocoDataset, loadSample, synthesizeSuite, type CocoDataset } from "../services/data/index.js";
import { detectorFromWeights, encodeCaption, initBackend, loadBaseWeights, packBatch, trainDetector, type TrainBatch, type TrainOptions, createModel, trainOptionsFor } from "../services/model/index.js";
import { OrtWorkerTrainer } from "../services/model/training/ort/index.js";

const { values: a } = parseArgs({
  options: {
    data: { type: "string" },
    size: { type: "string", default: "256" },
    epochs: { type: "string", default: "3" },
    steps: { type: "string", default: "40" },
    threads: { type: "string", default: "2" },
    batch: { type: "string", default: "4" },
    "base-weights": { type: "string" },
  },
});
const size = Number(a.size);
const epochs = Number(a.epochs);
const steps = Number(a.steps);
const threads = Number(a.threads);
const batchSize = Number(a.batch);

await initBackend("wasm");
let tmp = "";
let ds: CocoDataset;
if (a.data) ds = await loadCocoDataset(a.data);
else {
  tmp = mkdtempSync(join(tmpdir(), "medfcl-throughput-"));
  await synthesizeSuite({ suite: "polyp", out: tmp, seed: 1, scale: "small", domains: ["kvasir"] });
  ds = await loadCocoDataset(join(tmp, "kvasir", "train"));
}
const weights = await loadBaseWeights("yolox-nano", a["base-weights"]);
const freshDetector = () => {
  const { config, weights: w } = createModel("yolox-nano", { seed: 1, baseWeights: weights, inputSize: size });
  return detectorFromWeights(config, w);
};
const opts: TrainOptions = { ...trainOptionsFor("yolox-nano"), textLr: 1e-4, engine: "ort", threads, batchSize, seed: 1 };

/** Images/s of the bare step: batches decoded and packed before the clock starts. */
async function bareStep(): Promise<number> {
  const det = freshDetector();
  const cfg = det.config;
  const caption = encodeCaption(ds.categories, cfg);
  const batches: TrainBatch[] = [];
  for (let b = 0; b < 8; b++) {
    const samples = await Promise.all(Array.from({ length: batchSize }, (_, k) => loadSample(ds, (b * batchSize + k) % ds.images.length, { size })));
    batches.push(packBatch(cfg, samples, samples.map(() => caption)));
  }
  const ort = await OrtWorkerTrainer.start(cfg, det.getWeights(), opts, { threads });
  try {
    for (let i = 0; i < 3; i++) await ort.step(batches[i % batches.length], 1000);
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await ort.step(batches[i % batches.length], 1000);
    return (steps * batchSize) / ((performance.now() - t0) / 1000);
  } finally {
    await ort.close();
    det.dispose();
  }
}

/** Images/s of each epoch of trainDetector, decode and augmentation included (epoch 1 without the graph build). */
async function endToEnd(): Promise<number[]> {
  decodedImages.clear();
  const det = freshDetector();
  const perEpoch: number[] = [];
  let first = 0;
  let last = 0;
  let imagesAtLast = 0;
  let images = 0;
  await trainDetector(det, ds, {
    ...opts,
    epochs,
    augment: { flip: true, scaleJitter: 0.2, colorJitter: 0.2 },
    onProgress: (p) => {
      if (p.step === 1) {
        // The clock starts after the first step: engine start and graph build are not throughput.
        first = performance.now();
        last = first;
        imagesAtLast = batchSize;
      }
      images = Math.min(p.step * batchSize, epochs * ds.images.length);
    },
    onEpochEnd: async () => {
      const now = performance.now();
      perEpoch.push((images - imagesAtLast) / ((now - last) / 1000));
      last = now;
      imagesAtLast = images;
    },
  });
  det.dispose();
  return perEpoch;
}

const before = await bareStep();
const epochsIps = await endToEnd();
const after = await bareStep();
const bare = (before + after) / 2;
const rows = [
  `| bare step (before) | ${before.toFixed(1)} | ${(before / bare).toFixed(2)} |`,
  ...epochsIps.map((v, i) => `| trainDetector epoch ${i + 1}${i === 0 ? " (decodes every image)" : " (decoded images cached)"} | ${v.toFixed(1)} | ${(v / bare).toFixed(2)} |`),
  `| bare step (after) | ${after.toFixed(1)} | ${(after / bare).toFixed(2)} |`,
];
process.stdout.write(
  [
    `training throughput: yolox-nano, ${size} px, batch ${batchSize}, ${threads} onnxruntime thread(s), ${ds.images.length} images (${a.data ?? "synthetic kvasir, small"}), ${steps} bare steps`,
    "",
    "| what | images/s | × bare step (mean of before/after) |",
    "|---|---:|---:|",
    ...rows,
    "",
  ].join("\n"),
);
if (tmp) rmSync(tmp, { recursive: true, force: true });
