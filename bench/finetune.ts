/**
 * AP against wall time: the COCO-pretrained grounded detector (yolox-nano) fine-tuned on a real
 * dataset, beside nano from random initialisation, each given the same training wall-clock budget,
 * in the same run. Evaluation pauses the clock (ONNX, 2 threads) at evenly spaced checkpoints.
 * Prints a table and writes finetune.json and finetune.svg (AP and AP50 against minutes).
 *
 *   npx tsx bench/finetune.ts --train kvasir/train --test kvasir/test --minutes 15 \
 *     --base-weights ../shared/weights/yolox-nano/yolox_nano.onnx
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { iterateBatches, loadCocoDataset, mixSeed, type CocoDataset } from "../services/data/index.js";
import { evaluateCoco, lineChartSvg } from "../services/eval/index.js";
import {
  Trainer,
  createOnnxDetector,
  detectorFromWeights,
  encodeCaption,
  exportOnnx,
  initBackend,
  loadBaseWeights,
  modelFamily,
  needsBaseWeights,
  packBatch,
  type TfDetector,
  type TrainOptions,
  createModel,
  trainOptionsFor,
} from "../services/model/index.js";

const { values: a } = parseArgs({
  options: {
    train: { type: "string" },
    test: { type: "string" },
    minutes: { type: "string", default: "15" },
    evals: { type: "string", default: "5" },
    models: { type: "string", default: "yolox-nano,nano" },
    "base-weights": { type: "string" },
    size: { type: "string", default: "256" },
    lr: { type: "string" },
    freeze: { type: "string" },
    "batch-size": { type: "string" },
    seed: { type: "string", default: "1" },
    out: { type: "string", default: "bench/out/finetune" },
  },
});
if (!a.train || !a.test) {
  process.stderr.write("usage: npx tsx bench/finetune.ts --train DIR --test DIR [--minutes 15] [--evals 5] [--models yolox-nano,nano] [--base-weights FILE]\n");
  process.exit(2);
}

interface Point {
  minutes: number;
  steps: number;
  images: number;
  ap: number;
  ap50: number;
}

async function evaluate(det: TfDetector, test: CocoDataset): Promise<{ ap: number; ap50: number }> {
  const od = await createOnnxDetector(exportOnnx(det.config, det.getWeights()), det.config, { threads: 2 });
  try {
    const r = evaluateCoco(test, await od.predictDataset(test));
    return { ap: Math.max(0, r.stats[0]) * 100, ap50: Math.max(0, r.stats[1]) * 100 };
  } finally {
    await od.close();
  }
}

interface ModelResult {
  model: string;
  opts: Partial<TrainOptions>;
  points: Point[];
  msPerStep: number;
}

async function run(model: string, train: CocoDataset, test: CocoDataset): Promise<ModelResult> {
  const seed = Number(a.seed);
  // The registry says which families start from published weights and how each is trained.
  const pretrained = needsBaseWeights(model);
  const { config, weights } = createModel(model, { seed, baseWeights: pretrained ? await loadBaseWeights(model, a["base-weights"]) : undefined, inputSize: pretrained ? Number(a.size) : undefined });
  const det: TfDetector = detectorFromWeights(config, weights);
  let opts: TrainOptions = trainOptionsFor(model);
  if (a.lr) opts = { ...opts, lr: Number(a.lr), textLr: Number(a.lr) * modelFamily(model).training.textLrRatio };
  if (a.freeze) opts = { ...opts, freezeStages: Number(a.freeze) };
  if (a["batch-size"]) opts = { ...opts, batchSize: Number(a["batch-size"]) };
  opts = { ...opts, seed, warmupSteps: 20 };
  const cfg = det.config;
  const caption = encodeCaption(train.categories, cfg);
  const budgetMs = Number(a.minutes) * 60_000;
  const evalEvery = budgetMs / Number(a.evals);
  const trainer = new Trainer(det, opts);
  const points: Point[] = [];
  const first = await evaluate(det, test);
  points.push({ minutes: 0, steps: 0, images: 0, ...first });
  process.stderr.write(`${model}: 0.0 min, AP ${first.ap.toFixed(1)} AP50 ${first.ap50.toFixed(1)} (before fine-tuning)\n`);
  let trainedMs = 0;
  let images = 0;
  let nextEval = evalEvery;
  // The cosine schedule needs a step count: estimated from the first steps' pace, then fixed.
  let totalSteps = 1_000_000;
  for (let epoch = 0; trainedMs < budgetMs; epoch++) {
    for await (const batch of iterateBatches(train, { batchSize: opts.batchSize, size: cfg.inputSize, shuffle: true, seed: mixSeed(seed, epoch), augment: { flip: true, scaleJitter: 0.2, colorJitter: 0.2 }, keepLast: false })) {
      const t0 = performance.now();
      trainer.step(packBatch(cfg, batch, batch.map(() => caption)), totalSteps);
      trainedMs += performance.now() - t0;
      images += batch.length;
      if (trainer.stepCount === 10) totalSteps = Math.max(20, Math.floor(budgetMs / (trainedMs / 10)));
      if (trainedMs >= nextEval || trainedMs >= budgetMs) {
        const r = await evaluate(det, test);
        points.push({ minutes: trainedMs / 60_000, steps: trainer.stepCount, images, ...r });
        process.stderr.write(`${model}: ${(trainedMs / 60_000).toFixed(1)} min, ${trainer.stepCount} steps, AP ${r.ap.toFixed(1)} AP50 ${r.ap50.toFixed(1)}\n`);
        nextEval += evalEvery;
      }
      if (trainedMs >= budgetMs) break;
    }
  }
  const msPerStep = trainedMs / Math.max(1, trainer.stepCount);
  trainer.dispose();
  det.dispose();
  return { model, opts: { lr: opts.lr, textLr: opts.textLr, batchSize: opts.batchSize, freezeStages: opts.freezeStages, gradClip: opts.gradClip }, points, msPerStep };
}

await initBackend("wasm");
const train = await loadCocoDataset(a.train);
const test = await loadCocoDataset(a.test);
const started = Date.now();
const results: ModelResult[] = [];
for (const m of a.models!.split(",")) results.push(await run(m.trim(), train, test));

const rows = results.flatMap((r) => r.points.map((p) => `| ${r.model} | ${p.minutes.toFixed(1)} | ${p.steps} | ${p.images} | ${p.ap.toFixed(1)} | ${p.ap50.toFixed(1)} |`));
process.stdout.write(
  [
    `fine-tuning on ${a.train} (${train.images.length} images), evaluated on ${a.test} (${test.images.length} images); budget ${a.minutes} min of training per model`,
    "",
    "| model | train min | steps | images | AP | AP50 |",
    "|---|---|---|---|---|---|",
    ...rows,
    "",
    ...results.map((r) => `${r.model}: ${r.msPerStep.toFixed(0)} ms/step, settings ${JSON.stringify(r.opts)}`),
    ...results.slice(1).map((r) => `final AP ratio ${results[0].model} / ${r.model}: ${(results[0].points.at(-1)!.ap / Math.max(1e-9, r.points.at(-1)!.ap)).toFixed(2)}×`),
    `wall time ${((Date.now() - started) / 60_000).toFixed(1)} min (training plus evaluations)`,
    "",
  ].join("\n"),
);
mkdirSync(a.out!, { recursive: true });
writeFileSync(join(a.out!, "finetune.json"), `${JSON.stringify({ train: a.train, test: a.test, minutes: Number(a.minutes), results }, null, 2)}\n`);
// One x axis for every model: the evaluation checkpoints (same fractions of the same budget).
const xs = results[0].points.map((p, i) => (i === 0 ? "0" : ((Number(a.minutes) * i) / Number(a.evals)).toFixed(1)));
writeFileSync(
  join(a.out!, "finetune.svg"),
  lineChartSvg({
    title: `AP on ${test.images.length} held-out images against training minutes`,
    xLabels: xs,
    xLabel: "training wall time (min)",
    yLabel: "COCO AP / AP50 (%)",
    series: results.flatMap((r) => [
      { name: `${r.model} AP`, values: xs.map((_, i) => r.points[i]?.ap ?? null) },
      { name: `${r.model} AP50`, values: xs.map((_, i) => r.points[i]?.ap50 ?? null), dashed: true },
    ]),
  }),
);
