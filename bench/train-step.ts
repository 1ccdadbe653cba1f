/**
 * Median ms per nano training step (batch 8, 128 px): tfjs-wasm, the onnxruntime training graph
 * (services/model/training/ort) on 1 and 2 threads, and the same architecture in PyTorch (Debian
 * python3-torch via /usr/bin/python3) on 1 and 2 threads, in the same run.
 * Run: npx tsx bench/train-step.ts [steps] [--profile]
 * --profile: also runs one onnxruntime profile (1 thread) and prints the op types by share of time.
 *
 * Fine-tuning the pretrained base: npx tsx bench/train-step.ts [steps] --model yolox-nano [--rounds 3]
 *   [--sizes 128,256] [--threads 1,2]
 * Images/s of the onnxruntime training graph (the `--engine ort` trainer) against the same model in
 * PyTorch (train_step.py grounded: the YOLOX graph from the same ONNX file, with its weights), at
 * 128 and 256 px, 1 and 2 threads, the fine-tuning defaults (batch, freezeStages 2: stem and stage 1
 * get no gradients, lr groups, clip). The two sides alternate in rounds (ort steps, then PyTorch
 * steps, `--rounds` times per setting), so load from other jobs falls on both alike.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  Trainer,
  baseModelInfo,
  cacheDir,
  createDetector,
  encodeCaption,
  initBackend,
  loadBaseWeights,
  modelConfig,
  packBatch,
  paramSpecs,
  trainableSpecs,
  vocabSize,
  type ModelConfig,
  type TrainBatch,
  createModel,
  trainOptionsFor,
} from "../services/model/index.js";
import { OrtStepper } from "../services/model/training/ort/index.js";
import type { Sample } from "../services/data/index.js";

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const profile = args.includes("--profile");
const baseModel = flag("--model");
const rounds = Number(flag("--rounds") ?? 3);
const listFlag = (name: string, fallback: number[]): number[] => (flag(name) ? flag(name)!.split(",").map(Number) : fallback);
const valued = ["--model", "--rounds", "--sizes", "--threads"];
const steps = Number(args.find((a, i) => !a.startsWith("--") && !valued.includes(args[i - 1] ?? "")) ?? 10);
const batchSize = 8;
const cfg = modelConfig("nano");
const opts = { ...trainOptionsFor("nano"), warmupSteps: 1 };

/** Median and minimum ms: on a shared, oversubscribed box the minimum is the less load-dependent of the two. */
interface Timing {
  median: number;
  min: number;
}

function timing(a: number[]): Timing {
  const s = [...a].sort((x, y) => x - y);
  return { median: s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2, min: s[0] };
}

function makeBatch(cfg: ModelConfig, batchSize: number): TrainBatch {
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
  return packBatch(cfg, samples, samples.map(() => caption));
}

async function tfjsStep(batch: TrainBatch): Promise<Timing> {
  await initBackend("wasm");
  const det = createDetector(cfg, 1);
  const trainer = new Trainer(det, opts);
  const times: number[] = [];
  for (let i = 0; i < steps + 3; i++) {
    const t0 = performance.now();
    trainer.step(batch, 1000);
    if (i >= 3) times.push(performance.now() - t0);
  }
  trainer.dispose();
  det.dispose();
  return timing(times);
}

async function ortStep(batch: TrainBatch, threads: number, profilePrefix?: string): Promise<Timing> {
  const det = createDetector(cfg, 1);
  const st = new OrtStepper(cfg, det.getWeights(), opts, { threads, profilePrefix });
  det.dispose();
  const times: number[] = [];
  for (let i = 0; i < (profilePrefix ? 10 : steps + 3); i++) {
    const t0 = performance.now();
    await st.step(batch, 1000);
    if (i >= 3) times.push(performance.now() - t0);
  }
  await st.release();
  return timing(times);
}

/**
 * Op types by kernel time in an onnxruntime profile: each node's minimum over the profiled steps
 * after the first three (on a shared box the minimum is what the kernel costs without preemption).
 */
async function printProfile(batch: TrainBatch): Promise<void> {
  const prefix = join(tmpdir(), `medfcl-ort-profile-${process.pid}`);
  await ortStep(batch, 1, prefix);
  const file = readdirSync(tmpdir()).find((f) => f.startsWith(`medfcl-ort-profile-${process.pid}`));
  if (!file) return console.log("(no profile written)");
  type Ev = { cat: string; name: string; ts: number; dur: number; args?: { op_name?: string } };
  const events = JSON.parse(readFileSync(join(tmpdir(), file), "utf8")) as Ev[];
  rmSync(join(tmpdir(), file));
  const runs = events.filter((e) => e.cat === "Session" && e.name === "model_run");
  const from = runs[3]?.ts ?? 0;
  const minByNode = new Map<string, { op: string; us: number }>();
  for (const e of events) {
    if (e.cat !== "Node" || !e.name.endsWith("_kernel_time") || e.ts < from) continue;
    const cur = minByNode.get(e.name);
    if (!cur || e.dur < cur.us) minByNode.set(e.name, { op: e.args?.op_name ?? "?", us: e.dur });
  }
  const byOp = new Map<string, { us: number; n: number }>();
  for (const { op, us } of minByNode.values()) {
    const r = byOp.get(op) ?? { us: 0, n: 0 };
    r.us += us;
    r.n++;
    byOp.set(op, r);
  }
  const total = [...byOp.values()].reduce((a, r) => a + r.us, 0);
  const fastest = Math.min(...runs.slice(3).map((r) => r.dur));
  console.log(`\nonnxruntime profile, 1 thread: kernels ${(total / 1000).toFixed(1)} ms (sum of per-node minima), fastest step ${(fastest / 1000).toFixed(1)} ms`);
  console.log("| op | nodes | ms | share |");
  console.log("|---|---:|---:|---:|");
  for (const [op, r] of [...byOp].sort((a, b) => b[1].us - a[1].us).slice(0, 12)) console.log(`| ${op} | ${r.n} | ${(r.us / 1000).toFixed(1)} | ${((100 * r.us) / total).toFixed(1)} % |`);
}

function ensureTorch(): boolean {
  const probe = spawnSync("/usr/bin/python3", ["-c", "import torch"], { encoding: "utf8" });
  if (probe.status === 0) return true;
  console.error("python3-torch missing; installing with apt-get (needs root and the Debian mirror)...");
  const inst = spawnSync("apt-get", ["install", "-y", "python3-torch"], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  return inst.status === 0 && spawnSync("/usr/bin/python3", ["-c", "import torch"]).status === 0;
}

function torchStep(threads: number): Timing | null {
  const script = fileURLToPath(new URL("./train_step.py", import.meta.url));
  const r = spawnSync("/usr/bin/python3", [script, JSON.stringify({ ...cfg, vocab: vocabSize(cfg) }), String(threads), String(steps), String(batchSize)], { encoding: "utf8" });
  if (r.status !== 0) {
    console.error(r.stderr);
    return null;
  }
  const j = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as { median_ms: number; min_ms: number };
  return { median: j.median_ms, min: j.min_ms };
}

/** Fine-tuning the pretrained base: onnxruntime against PyTorch, interleaved; prints a table and exits. */
async function fineTuneBench(model: string): Promise<void> {
  if (!ensureTorch()) throw new Error("PyTorch is not available (python3-torch)");
  const bytes = await loadBaseWeights(model);
  const onnxPath = process.env.MEDFCL_BASE_WEIGHTS ?? join(cacheDir(), model, baseModelInfo(model).file);
  const ft = trainOptionsFor("yolox-nano");
  const rows: string[] = [];
  for (const inputSize of listFlag("--sizes", [128, 256])) {
    const { config, weights } = createModel(model, { seed: 1, baseWeights: bytes, inputSize });
    const bb = config.backbone!;
    const specs = paramSpecs(config);
    const trainable = new Set(trainableSpecs(specs, ft.freezeStages).map((s) => s.name));
    const numel = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
    const trainableCount = specs.filter((s) => trainable.has(s.name)).reduce((a, s) => a + numel(s.shape), 0);
    const frozenCount = specs.filter((s) => !trainable.has(s.name)).reduce((a, s) => a + numel(s.shape), 0);
    const spec = {
      onnx: onnxPath,
      levels: bb.levels,
      trainable: Object.entries(bb.graph.params).filter(([, p]) => trainable.has(p)).map(([src]) => src),
      inputSize,
      dModel: config.dModel,
      textDim: config.textDim,
      textLayers: config.textLayers,
      textHeads: config.textHeads,
      textFfn: config.textFfn,
      maxTokens: config.maxTokens,
      vocab: vocabSize(config),
      lr: ft.lr,
      textLr: ft.textLr,
      weightDecay: ft.weightDecay,
      gradClip: ft.gradClip,
    };
    const specPath = join(tmpdir(), `medfcl-train-step-${process.pid}-${inputSize}.json`);
    writeFileSync(specPath, JSON.stringify(spec));
    const batch = makeBatch(config, ft.batchSize);
    for (const threads of listFlag("--threads", [1, 2])) {
      const st = new OrtStepper(config, weights, ft, { threads });
      const ortTimes: number[] = [];
      const torchTimes: number[] = [];
      let torchInfo = "";
      for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < steps + (r === 0 ? 3 : 0); i++) {
          const t0 = performance.now();
          await st.step(batch, 1000);
          if (r > 0 || i >= 3) ortTimes.push(performance.now() - t0);
        }
        const py = spawnSync("/usr/bin/python3", [fileURLToPath(new URL("./train_step.py", import.meta.url)), "grounded", specPath, String(threads), String(steps), String(ft.batchSize)], { encoding: "utf8" });
        if (process.env.MEDFCL_TORCH_PROFILE) process.stderr.write(py.stderr);
        if (py.status !== 0) throw new Error(`train_step.py grounded failed: ${py.stderr}`);
        const j = JSON.parse(py.stdout.trim().split("\n").at(-1) ?? "{}") as { times_ms: number[]; trainable: number; frozen: number };
        torchTimes.push(...j.times_ms);
        torchInfo = `${trainableCount} / ${frozenCount}; ${j.trainable} / ${j.frozen}`;
      }
      await st.release();
      const o = timing(ortTimes);
      const t = timing(torchTimes);
      const ips = (ms: number): string => ((ft.batchSize * 1000) / ms).toFixed(1);
      rows.push(
        `| ${inputSize} | ${threads} | ${ips(o.median)} (${ips(o.min)}) | ${ips(t.median)} (${ips(t.min)}) | ${(o.median / t.median).toFixed(2)}× (${(o.min / t.min).toFixed(2)}×) | ${o.median.toFixed(0)} / ${t.median.toFixed(0)} | ${torchInfo} |`,
      );
      console.error(rows.at(-1));
    }
    rmSync(specPath, { force: true });
  }
  console.log(`\n${model} fine-tuning, batch ${ft.batchSize}, freezeStages ${ft.freezeStages}, ${rounds} interleaved rounds × ${steps} steps per side; images/s median (best)`);
  console.log("| px | threads | medfcl ort images/s | pytorch images/s | medfcl time / pytorch time, median (best) | ms/step ort / pytorch | trainable / frozen params: medfcl; pytorch |");
  console.log("|---:|---:|---:|---:|---:|---:|---|");
  for (const r of rows) console.log(r);
}

if (baseModel) {
  await fineTuneBench(baseModel);
  process.exit(0);
}

const batch = makeBatch(cfg, batchSize);
const tfjs = await tfjsStep(batch);
const o1 = await ortStep(batch, 1);
const o2 = await ortStep(batch, 2);
const hasTorch = ensureTorch();
const t1 = hasTorch ? torchStep(1) : null;
const t2 = hasTorch ? torchStep(2) : null;
const rows: [string, Timing | null, Timing | null][] = [
  ["tfjs-wasm (1 thread, SIMD)", tfjs, t1],
  ["onnxruntime 1 thread", o1, t1],
  ["onnxruntime 2 threads", o2, t2],
  ["pytorch 1 thread", t1, t1],
  ["pytorch 2 threads", t2, t2],
];
console.log(`nano train step, batch ${batchSize}, ${cfg.inputSize}px, ${steps} steps (median; min)`);
console.log("| engine | ms/step median | ms/step min | tfjs-wasm / this (median) | this / pytorch, same threads (median; min) |");
console.log("|---|---:|---:|---:|---:|");
const f = (v: number) => v.toFixed(1);
for (const [name, t, torch] of rows) {
  if (!t) {
    console.log(`| ${name} | n/a | n/a | n/a | n/a |`);
    continue;
  }
  const vs = torch ? `${(t.median / torch.median).toFixed(2)}×; ${(t.min / torch.min).toFixed(2)}×` : "n/a";
  console.log(`| ${name} | ${f(t.median)} | ${f(t.min)} | ${(tfjs.median / t.median).toFixed(2)}× | ${vs} |`);
}
if (profile) await printProfile(batch);
