/**
 * CPU and wall time of one training step of the pretrained base (yolox-nano) against nano from
 * scratch, on a fixed synthetic batch, per engine, in the same run. CPU time (process.cpuUsage)
 * approximates a quiet machine when other work shares the cores.
 *
 *   npx tsx bench/pretrained-step.ts --base-weights ../shared/weights/yolox-nano/yolox_nano.onnx [--steps 4]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { Sample } from "../services/data/index.js";
import {
  Trainer,
  createDetector,
  detectorFromWeights,
  encodeCaption,
  initBackend,
  loadBaseWeights,
  modelConfig,
  packBatch,
  type TfDetector,
  type TrainOptions,
  createModel,
  trainOptionsFor,
} from "../services/model/index.js";

const { values: a } = parseArgs({ options: { "base-weights": { type: "string" }, steps: { type: "string", default: "4" } } });
const steps = Number(a.steps);

interface Case {
  label: string;
  make: () => Promise<{ det: TfDetector; opts: TrainOptions }>;
  batch: number;
}

const base = a["base-weights"] ? readFileSync(a["base-weights"]) : await loadBaseWeights("yolox-nano");
const yolox = (size: number, freezeStages: number): Case => ({
  label: `yolox-nano ${size} px, freeze ${freezeStages}, batch 4`,
  batch: 4,
  make: async () => {
    const { config, weights } = createModel("yolox-nano", { seed: 1, baseWeights: base, inputSize: size });
    return { det: detectorFromWeights(config, weights), opts: { ...trainOptionsFor("yolox-nano"), freezeStages } };
  },
});
const cases: Case[] = [
  yolox(128, 2),
  yolox(128, 5),
  yolox(256, 2),
  { label: "nano 128 px, from scratch, batch 8", batch: 8, make: async () => ({ det: createDetector(modelConfig("nano"), 1), opts: trainOptionsFor("nano") }) },
];

await initBackend("wasm");
const rows: string[] = [];
for (const c of cases) {
  const { det, opts } = await c.make();
  const cfg = det.config;
  const S = cfg.inputSize;
  const caption = encodeCaption([{ id: 1, name: "polyp", prompt: { prefix: "", name: "pink yellow red color oval bump", suffix: " in rectum" } }], cfg);
  const samples: Sample[] = Array.from({ length: c.batch }, (_, i) => ({
    imageId: i,
    size: S,
    pixels: Float32Array.from({ length: S * S * 3 }, (_, j) => ((j * 31 + i) % 255) / 255),
    boxes: Float32Array.from([S * 0.2, S * 0.2, S * 0.6, S * 0.65]),
    labels: Int32Array.from([1]),
    transform: { scale: 1, padX: 0, padY: 0, flipped: false, origWidth: S, origHeight: S, size: S },
  }));
  const batch = packBatch(cfg, samples, samples.map(() => caption));
  const trainer = new Trainer(det, opts);
  trainer.step(batch, 100);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) trainer.step(batch, 100);
  const cpu = process.cpuUsage(c0);
  const cpuMs = (cpu.user + cpu.system) / 1000 / steps;
  rows.push(`| ${c.label} | ${cpuMs.toFixed(0)} | ${(cpuMs / c.batch).toFixed(0)} | ${((performance.now() - t0) / steps).toFixed(0)} |`);
  trainer.dispose();
  det.dispose();
}
process.stdout.write([`tfjs-wasm training step: mean of ${steps} steps after one warm-up`, "", "| model | CPU ms / step | CPU ms / image | wall ms / step |", "|---|---:|---:|---:|", ...rows, ""].join("\n"));
