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
 *
 * Where the gap comes from: "worker busy" is the share of the wall time the onnxruntime worker
 * spent inside steps (below 1: it waited for batches), "worker ms/step" is a step's time inside the
 * worker (above the bare step's: the step itself was slowed, by this thread's work competing for the
 * cores), and "main thread" is this thread's event-loop utilisation (decode, augment, pack, GC).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance as perf, type EventLoopUtilization } from "node:perf_hooks";
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

interface Reading {
  imagesPerSec: number;
  /** Share of the wall time the worker spent inside steps. */
  workerBusy: number;
  workerMsPerStep: number;
  /** Event-loop utilisation of this (the main) thread. */
  mainElu: number;
}

/** Where a measured span starts: the clock, the counters, and the main thread's event-loop usage. */
interface Mark {
  ms: number;
  images: number;
  steps: number;
  busyMs: number;
  elu: EventLoopUtilization;
}

const markNow = (images: number, steps: number, busyMs: number): Mark => ({ ms: performance.now(), images, steps, busyMs, elu: perf.eventLoopUtilization() });

/** The span from `from` to now, the counters standing at `images`, `steps` and `busyMs`. */
function readingSince(from: Mark, images: number, steps: number, busyMs: number): Reading {
  const ms = performance.now() - from.ms;
  const busy = busyMs - from.busyMs;
  return { imagesPerSec: (images - from.images) / (ms / 1000), workerBusy: busy / ms, workerMsPerStep: busy / Math.max(1, steps - from.steps), mainElu: perf.eventLoopUtilization(from.elu).utilization };
}

/** Images/s of the bare step: batches decoded and packed before the clock starts. */
async function bareStep(): Promise<Reading> {
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
    const from = markNow(0, 0, ort.busyMs);
    for (let i = 0; i < steps; i++) await ort.step(batches[i % batches.length], 1000);
    return readingSince(from, steps * batchSize, steps, ort.busyMs);
  } finally {
    await ort.close();
    det.dispose();
  }
}

/** Each epoch of trainDetector, decode and augmentation included (epoch 1 without the graph build). */
async function endToEnd(): Promise<Reading[]> {
  decodedImages.clear();
  const det = freshDetector();
  const perEpoch: Reading[] = [];
  let images = 0;
  let stepsDone = 0;
  let busyMs = 0;
  let epochStart = markNow(0, 0, 0);
  await trainDetector(det, ds, {
    ...opts,
    epochs,
    augment: { flip: true, scaleJitter: 0.2, colorJitter: 0.2 },
    onProgress: (p) => {
      busyMs = (p.engineBusySeconds ?? 0) * 1000;
      stepsDone = p.step;
      images = Math.min(p.step * batchSize, epochs * ds.images.length);
      // The clock starts after the first step: engine start and graph build are not throughput.
      if (p.step === 1) epochStart = markNow(images, stepsDone, busyMs);
    },
    onEpochEnd: async () => {
      perEpoch.push(readingSince(epochStart, images, stepsDone, busyMs));
      epochStart = markNow(images, stepsDone, busyMs);
    },
  });
  det.dispose();
  return perEpoch;
}

const before = await bareStep();
const epochReadings = await endToEnd();
const after = await bareStep();
const bare = (before.imagesPerSec + after.imagesPerSec) / 2;
const row = (what: string, r: Reading): string =>
  `| ${what} | ${r.imagesPerSec.toFixed(1)} | ${(r.imagesPerSec / bare).toFixed(2)} | ${r.workerBusy.toFixed(2)} | ${r.workerMsPerStep.toFixed(0)} | ${r.mainElu.toFixed(2)} |`;
const rows = [
  row("bare step (before)", before),
  ...epochReadings.map((r, i) => row(`trainDetector epoch ${i + 1}${i === 0 ? " (decodes every image)" : " (decoded images cached)"}`, r)),
  row("bare step (after)", after),
];
process.stdout.write(
  [
    `training throughput: yolox-nano, ${size} px, batch ${batchSize}, ${threads} onnxruntime thread(s), ${ds.images.length} images (${a.data ?? "synthetic kvasir, small"}), ${steps} bare steps`,
    "",
    "| what | images/s | × bare step (mean of before/after) | worker busy | worker ms/step | main thread |",
    "|---|---:|---:|---:|---:|---:|",
    ...rows,
    "",
  ].join("\n"),
);
if (tmp) rmSync(tmp, { recursive: true, force: true });
