/**
 * Median ms per nano training step (batch 8, 128 px) on tfjs-wasm, against the same architecture in
 * PyTorch (Debian python3-torch via /usr/bin/python3) on 1 and 2 threads, in the same run.
 * Run: npx tsx bench/train-step.ts [steps]
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Trainer, createDetector, encodeCaption, fromScratchTrainOptions, initBackend, modelConfig, packBatch, vocabSize } from "../services/model/index.js";
import type { Sample } from "../services/data/index.js";

const steps = Number(process.argv[2] ?? 10);
const batchSize = 8;
const cfg = modelConfig("nano");

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function tfjsStep(): Promise<number> {
  await initBackend("wasm");
  const det = createDetector(cfg, 1);
  const trainer = new Trainer(det, { ...fromScratchTrainOptions(), warmupSteps: 1 });
  const caption = encodeCaption([{ id: 1, name: "polyp", prompt: { prefix: "", name: "pink yellow red color oval bump", suffix: " in rectum" } }], cfg);
  const S = cfg.inputSize;
  let seed = 1;
  const samples: Sample[] = Array.from({ length: batchSize }, (_, i) => ({
    imageId: i,
    size: S,
    pixels: Float32Array.from({ length: S * S * 3 }, () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32)),
    boxes: Float32Array.from([10 + i, 20, 60 + i, 70, 70, 70, 110, 120]),
    labels: Int32Array.from([1, 1]),
    transform: { scale: 1, padX: 0, padY: 0, flipped: false, origWidth: S, origHeight: S, size: S },
  }));
  const batch = packBatch(cfg, samples, samples.map(() => caption));
  const times: number[] = [];
  for (let i = 0; i < steps + 3; i++) {
    const t0 = performance.now();
    trainer.step(batch, 1000);
    if (i >= 3) times.push(performance.now() - t0);
  }
  trainer.dispose();
  det.dispose();
  return median(times);
}

function ensureTorch(): boolean {
  const probe = spawnSync("/usr/bin/python3", ["-c", "import torch"], { encoding: "utf8" });
  if (probe.status === 0) return true;
  console.error("python3-torch missing; installing with apt-get (needs root and the Debian mirror)...");
  const inst = spawnSync("apt-get", ["install", "-y", "python3-torch"], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  return inst.status === 0 && spawnSync("/usr/bin/python3", ["-c", "import torch"]).status === 0;
}

function torchStep(threads: number): number | null {
  const script = fileURLToPath(new URL("./train_step.py", import.meta.url));
  const r = spawnSync("/usr/bin/python3", [script, JSON.stringify({ ...cfg, vocab: vocabSize(cfg) }), String(threads), String(steps), String(batchSize)], { encoding: "utf8" });
  if (r.status !== 0) {
    console.error(r.stderr);
    return null;
  }
  return (JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as { median_ms: number }).median_ms;
}

const tfjs = await tfjsStep();
const hasTorch = ensureTorch();
const t1 = hasTorch ? torchStep(1) : null;
const t2 = hasTorch ? torchStep(2) : null;
const rows: [string, number | null][] = [
  ["tfjs-wasm (1 thread, SIMD)", tfjs],
  ["pytorch 1 thread", t1],
  ["pytorch 2 threads", t2],
];
console.log(`nano train step, batch ${batchSize}, ${cfg.inputSize}px, median of ${steps} steps`);
console.log("| engine | ms/step | tfjs-wasm / this |");
console.log("|---|---:|---:|");
for (const [name, ms] of rows) console.log(`| ${name} | ${ms === null ? "n/a" : ms.toFixed(1)} | ${ms === null ? "n/a" : (tfjs / ms).toFixed(2)}× |`);
