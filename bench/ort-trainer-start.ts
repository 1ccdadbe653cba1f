/**
 * What a federated task pays before its first onnxruntime step: starting a trainer on a freshly
 * spawned worker (which loads onnxruntime and the model code) against starting it on the worker a
 * closed trainer left behind, in the same process. Each row is the median of `--repeat` starts,
 * each followed by one step (the session build) and a close.
 *
 *   npx tsx bench/ort-trainer-start.ts [--repeat 3] [--models nano,yolox-nano]
 *
 * yolox-nano needs its COCO weights (MEDFCL_WEIGHTS_DIR or `medfcl model fetch yolox-nano`); it is
 * left out with a message when they are missing.
 */
import { parseArgs } from "node:util";
import { createModelWithBase, initBackend, needsBaseWeights, trainOptionsFor, type ModelConfig, type TensorMap } from "../services/model/index.js";
import { OrtWorkerTrainer } from "../services/model/training/ort/index.js";
import { syntheticBatch } from "../tests/services/model/training/ort/fixtures.js";

const { values: a } = parseArgs({ options: { repeat: { type: "string", default: "3" }, models: { type: "string", default: "nano,yolox-nano" } } });
const repeat = Number(a.repeat);
await initBackend("wasm");

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

interface TimedStart {
  trainer: OrtWorkerTrainer;
  startMs: number;
  firstStepMs: number;
}

async function timedStart(cfg: ModelConfig, weights: TensorMap): Promise<TimedStart> {
  const opts = { ...trainOptionsFor(cfg.size), warmupSteps: 1 };
  let t = performance.now();
  const trainer = await OrtWorkerTrainer.start(cfg, weights, opts, { threads: 1 });
  const startMs = performance.now() - t;
  t = performance.now();
  await trainer.step(syntheticBatch(cfg, 2, 1), 10);
  return { trainer, startMs, firstStepMs: performance.now() - t };
}

const rows: string[][] = [];
for (const name of a.models!.split(",")) {
  let made: { config: ModelConfig; weights: TensorMap };
  try {
    made = await createModelWithBase(name, { seed: 1 });
  } catch (err) {
    console.log(`${name}: left out (${needsBaseWeights(name) ? "its base weights are missing: " : ""}${(err as Error).message.split("\n")[0]})`);
    continue;
  }
  const cfg = made.config;
  // Fresh: every trainer of the first batch is started while the others are still open, so none
  // can take a parked worker. Reused: then one at a time, each closed before the next starts.
  const fresh: TimedStart[] = [];
  for (let i = 0; i < repeat; i++) fresh.push(await timedStart(cfg, made.weights));
  for (const f of fresh) await f.trainer.close();
  const reused: TimedStart[] = [];
  for (let i = 0; i < repeat; i++) {
    const r = await timedStart(cfg, made.weights);
    await r.trainer.close();
    reused.push(r);
  }
  const row = (label: string, xs: TimedStart[], base?: number): string[] => {
    const total = median(xs.map((x) => x.startMs + x.firstStepMs));
    return [name, label, median(xs.map((x) => x.startMs)).toFixed(0), median(xs.map((x) => x.firstStepMs)).toFixed(0), total.toFixed(0), base ? `${(total / base).toFixed(2)}×` : "1.00×"];
  };
  const freshTotal = median(fresh.map((x) => x.startMs + x.firstStepMs));
  rows.push(row("fresh worker", fresh), row("reused worker", reused, freshTotal));
}

const header = ["model", "trainer on", "start ms", "first step ms", "start + first step ms", "vs fresh"];
console.log(`\n| ${header.join(" | ")} |\n|${header.map(() => "---").join("|")}|`);
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
