/**
 * Loss curves of the two training engines over the same 50 steps (nano, batch 4, 128 px, the
 * from-scratch settings, the same seeded batches): tfjs autodiff (the reference), the onnxruntime
 * training graph, and tfjs again from weights perturbed by 1e-7 (relative) as a yardstick for how
 * far float-order differences alone move a curve.
 * Run: npx tsx bench/train-parity.ts [steps]
 */
import { mixSeed, mulberry32, type Sample } from "../services/data/index.js";
import { Trainer, encodeCaption, detectorFromWeights, initBackend, initWeights, modelConfig, packBatch, type TensorMap, type TrainBatch, trainOptionsFor } from "../services/model/index.js";
import { OrtStepper } from "../services/model/training/ort/index.js";

const steps = Number(process.argv[2] ?? 50);
const cfg = modelConfig("nano");
const opts = { ...trainOptionsFor("nano"), warmupSteps: 5 };
const caption = encodeCaption([{ id: 1, name: "polyp", prompt: { prefix: "", name: "pink yellow red color oval bump", suffix: " in rectum" } }], cfg);

function batch(k: number): TrainBatch {
  const rng = mulberry32(mixSeed(7, k));
  const S = cfg.inputSize;
  const samples: Sample[] = Array.from({ length: 4 }, (_, i) => {
    const x = 4 + rng() * 40;
    const y = 4 + rng() * 40;
    const w = 16 + rng() * 60;
    const h = 16 + rng() * 60;
    return {
      imageId: i,
      size: S,
      pixels: Float32Array.from({ length: S * S * 3 }, rng),
      boxes: Float32Array.from([x, y, x + w, y + h]),
      labels: Int32Array.from([1]),
      transform: { scale: 1, padX: 0, padY: 0, flipped: false, origWidth: S, origHeight: S, size: S },
    };
  });
  return packBatch(cfg, samples, samples.map(() => caption));
}

function tfjsCurve(w: TensorMap, batches: TrainBatch[]): number[] {
  const det = detectorFromWeights(cfg, w);
  const tr = new Trainer(det, opts);
  const out = batches.map((b) => tr.step(b, steps));
  tr.dispose();
  det.dispose();
  return out;
}

await initBackend("wasm");
const w0 = initWeights(cfg, 1);
const rng = mulberry32(99);
const perturbed: TensorMap = new Map([...w0].map(([n, t]) => [n, { ...t, data: t.data.map((v) => v * (1 + (rng() * 2 - 1) * 1e-7)) }]));
const batches = Array.from({ length: steps }, (_, k) => batch(k % 10));
const ref = tfjsCurve(w0, batches);
const pert = tfjsCurve(perturbed, batches);
const st = new OrtStepper(cfg, w0, opts, { threads: 1 });
const ort: number[] = [];
for (const b of batches) ort.push((await st.step(b, steps)).loss);
await st.release();

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));
console.log(`nano, batch 4, ${steps} steps, lr ${opts.lr}, same batches; |Δ| relative to max(1, tfjs loss)`);
console.log("| step | tfjs | onnxruntime | Δ ort | tfjs, weights ×(1±1e-7) | Δ perturbed |");
console.log("|---:|---:|---:|---:|---:|---:|");
for (let i = 0; i < steps; i++) {
  if (i < 5 || i % 5 === 4) console.log(`| ${i + 1} | ${ref[i].toFixed(4)} | ${ort[i].toFixed(4)} | ${rel(ort[i], ref[i]).toExponential(1)} | ${pert[i].toFixed(4)} | ${rel(pert[i], ref[i]).toExponential(1)} |`);
}
const maxOver = (c: number[], from: number, to: number) => Math.max(...c.slice(from, to).map((v, i) => rel(v, ref[from + i])));
const meanLast = (c: number[]) => c.slice(-10).reduce((a, b) => a + b, 0) / 10;
console.log(`\nmax Δ, steps 1-10: ort ${maxOver(ort, 0, 10).toExponential(1)}, perturbed tfjs ${maxOver(pert, 0, 10).toExponential(1)}`);
console.log(`max Δ, steps 1-${steps}: ort ${maxOver(ort, 0, steps).toExponential(1)}, perturbed tfjs ${maxOver(pert, 0, steps).toExponential(1)}`);
console.log(`mean loss of the last 10 steps: tfjs ${meanLast(ref).toFixed(4)}, ort ${meanLast(ort).toFixed(4)}, perturbed tfjs ${meanLast(pert).toFixed(4)}`);
