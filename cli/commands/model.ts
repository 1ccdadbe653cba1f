import { type Command } from "commander";
import cliProgress from "cli-progress";
import { defaultAugmentOptions, loadCocoDataset } from "../../services/data/index.js";
import { evaluateCoco } from "../../services/eval/index.js";
import {
  DEFAULT_TRAIN_ENGINE,
  ModelOptionError,
  TRAIN_ENGINES,
  configHash,
  createDetector,
  createOnnxDetector,
  detectorFromWeights,
  exportOnnx,
  fromScratchTrainOptions,
  defaultTrainOptions,
  initBackend,
  loadCheckpoint,
  modelConfig,
  predictDataset,
  saveCheckpoint,
  trainDetector,
  type BackendName,
  MODEL_NAMES,
  BASE_MODELS,
  PUBLISHED_WEIGHTS,
  fetchBaseWeights,
  importBaseModel,
  isBaseModel,
  isScratchSize,
  loadBaseWeights,
  type TensorMap,
  type TrainEngine,
  type TrainProgress,
} from "../../services/model/index.js";
import { writeFileAtomic } from "../../services/store/index.js";
import { trainingDefaults } from "../simulate.js";
import { action, commandLogger, withExamples } from "../context.js";

function num(flag: string, v: string | undefined, integer = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new ModelOptionError(flag, `expected ${integer ? "an integer" : "a number"}, got "${v}"`);
  return n;
}

function backendOf(v: string): BackendName {
  if (v !== "wasm" && v !== "tensorflow" && v !== "cpu") throw new ModelOptionError("--backend", `use wasm, tensorflow or cpu, got "${v}"`);
  return v;
}

interface TrainFlags {
  data: string;
  model: string;
  init?: string;
  epochs?: string;
  steps?: string;
  out: string;
  backend: string;
  seed: string;
  lr?: string;
  textLr?: string;
  batchSize?: string;
  size?: string;
  freeze?: string;
  baseWeights?: string;
  engine: string;
  threads?: string;
  executionProvider: string;
  evalData?: string;
  curve?: string;
  emaDecay?: string;
}

/** One point of a learning curve: held-out COCO AP after an epoch. */
export interface CurvePoint {
  epoch: number;
  ap: number;
  ap50: number;
  /** Mean training loss over the epoch. */
  loss: number;
  /** Seconds since training started (evaluation time included). */
  seconds: number;
}

function engineOf(v: string): TrainEngine {
  if (!(TRAIN_ENGINES as readonly string[]).includes(v)) throw new ModelOptionError("--engine", `use ${TRAIN_ENGINES.join(" or ")}, got "${v}"`);
  return v as TrainEngine;
}

function executionProviderOf(v: string): "cpu" | "cuda" {
  if (v !== "cpu" && v !== "cuda") throw new ModelOptionError("--execution-provider", `use cpu or cuda, got "${v}"`);
  return v;
}

/** A progress bar on a TTY, one log line per ~5 % otherwise. */
function progressReporter(): { update(p: TrainProgress): void; stop(): void } {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: "train [{bar}] {value}/{total} steps | loss {loss} | {ips} img/s | eta {eta_formatted}", stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(p) {
        if (!started) {
          bar.start(p.totalSteps, 0, { loss: "-", ips: "-" });
          started = true;
        }
        bar.update(p.step, { loss: p.loss.toFixed(4), ips: p.imagesPerSec.toFixed(1) });
      },
      stop: () => bar.stop(),
    };
  }
  let last = -1;
  return {
    update(p) {
      const bucket = Math.floor((20 * p.step) / p.totalSteps);
      if (bucket !== last || p.step === p.totalSteps) {
        last = bucket;
        process.stderr.write(`train step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} ${p.imagesPerSec.toFixed(1)} img/s\n`);
      }
    },
    stop: () => undefined,
  };
}

export function registerModel(program: Command): void {
  withExamples(
    program
      .command("train")
      .description("train (or fine-tune with --init) the grounded detector on a COCO + prompt dataset folder")
      .requiredOption("--data <dir>", "dataset folder (annotations.json + images/)")
      .requiredOption("--out <file>", "checkpoint to write (.safetensors)")
      .option("--model <name>", "nano | small (random init) or yolox-nano (COCO-pretrained base; see `medfcl model fetch`); ignored with --init", "nano")
      .option("--base-weights <file>", "weights of a pretrained --model (default: $MEDFCL_BASE_WEIGHTS, else the cache)")
      .option("--init <ckpt>", "start from this checkpoint (fine-tuning: paper defaults lr 1e-4, text 1e-5, freeze 2)")
      .option("--epochs <n>", "epochs over the data (default by model: 16 for a pretrained base, where held-out AP stops rising on the real polyp domains; 3 from scratch)")
      .option("--steps <n>", "optimizer steps (overrides --epochs)")
      .option("--engine <name>", "training engine: tfjs (autodiff, the reference) | ort (onnxruntime training graph on a worker thread)", DEFAULT_TRAIN_ENGINE)
      .option("--threads <n>", "onnxruntime threads for --engine ort (default: the core count)")
      .option("--execution-provider <name>", "onnxruntime execution provider for --engine ort: cpu | cuda (needs onnxruntime-node's CUDA build)", "cpu")
      .option("--backend <name>", "tfjs backend for --engine tfjs: wasm | tensorflow | cpu", "wasm")
      .option("--seed <n>", "seed for init, shuffling and augmentation", "0")
      .option("--lr <x>", "base learning rate (default 2e-3 from scratch, 1e-4 with --init)")
      .option("--text-lr <x>", "text-encoder learning rate (default lr/10; lr for a pretrained --model, whose text encoder is new)")
      .option("--batch-size <n>", "images per step (default 8 from scratch, 4 with --init)")
      .option("--size <px>", "input size (not with --init; multiple of 32)")
      .option("--freeze <n>", "frozen bottom image stages (default 0 from scratch, 2 with --init)")
      .option("--ema-decay <d>", "keep an exponential moving average of the weights with this decay and return it (0 = off; default: the model's)")
      .option("--eval-data <dir>", "held-out dataset (e.g. a validation split) evaluated with COCO AP after every epoch: a learning curve")
      .option("--curve <file>", "with --eval-data: write the learning curve as JSON (rewritten after every epoch)")
      .action(
        action(async (f: TrainFlags, cmd: Command) => {
          const log = commandLogger(cmd, "train");
          const engine = engineOf(f.engine);
          const executionProvider = executionProviderOf(f.executionProvider);
          const threads = num("--threads", f.threads, true);
          const backend = await initBackend(backendOf(f.backend));
          const seed = num("--seed", f.seed, true) ?? 0;
          let det;
          let parent = "";
          // Fine-tuning defaults (the paper's) from a checkpoint or a pretrained base; from-scratch ones otherwise.
          const pretrained = Boolean(f.init) || isBaseModel(f.model);
          const base = pretrained ? defaultTrainOptions() : fromScratchTrainOptions();
          const size = num("--size", f.size, true);
          if (f.init) {
            const ck = await loadCheckpoint(f.init);
            det = detectorFromWeights(ck.config, ck.tensors);
            parent = ck.metadata["medfcl.tensors_sha256"] ?? "";
          } else if (isBaseModel(f.model)) {
            const imported = importBaseModel(f.model, await loadBaseWeights(f.model, f.baseWeights), seed, size ? { inputSize: size } : {});
            det = detectorFromWeights(imported.config, imported.weights);
          } else {
            if (!isScratchSize(f.model)) throw new ModelOptionError("--model", `use ${MODEL_NAMES.join(", ")}, got "${f.model}"`);
            det = createDetector(modelConfig(f.model, size ? { inputSize: size } : {}), seed);
          }
          const ds = await loadCocoDataset(f.data);
          const lr = num("--lr", f.lr) ?? base.lr;
          const opts = {
            ...base,
            seed,
            lr,
            // A pretrained base's text encoder is new (not a pretrained BERT), so it learns at the base lr.
            textLr: num("--text-lr", f.textLr) ?? (isBaseModel(f.model) && !f.init ? lr : f.lr ? lr / 10 : base.textLr),
            batchSize: num("--batch-size", f.batchSize, true) ?? base.batchSize,
            freezeStages: num("--freeze", f.freeze, true) ?? base.freezeStages,
            emaDecay: num("--ema-decay", f.emaDecay) ?? base.emaDecay,
            // Fine-tuning (a checkpoint or a pretrained base) trains the epoch rule's epochs; from scratch, the from-scratch default.
            epochs: num("--epochs", f.epochs, true) ?? trainingDefaults(pretrained ? "yolox-nano" : f.model).epochs,
            steps: num("--steps", f.steps, true),
            augment: defaultAugmentOptions(),
            engine,
            threads,
            executionProvider,
          };
          log.info({ engine, backend, model: det.config.size, configHash: configHash(det.config), images: ds.images.length, lr: opts.lr, batchSize: opts.batchSize }, "training");
          if (f.curve && !f.evalData) throw new ModelOptionError("--curve", "needs --eval-data DIR (the held-out images the curve is measured on)");
          const evalSet = f.evalData ? await loadCocoDataset(f.evalData) : undefined;
          const curve: CurvePoint[] = [];
          const started = performance.now();
          let lossSum = 0;
          let lossCount = 0;
          const cfg = det.config;
          const onEpochEnd = evalSet
            ? async (epoch: number, weights: () => Promise<TensorMap>) => {
                const detector = await createOnnxDetector(exportOnnx(cfg, await weights()), cfg, { threads: threads ?? 2 });
                try {
                  const r = evaluateCoco(evalSet, await detector.predictDataset(evalSet));
                  const point = { epoch, ap: Math.max(0, r.stats[0]) * 100, ap50: Math.max(0, r.stats[1]) * 100, loss: lossSum / Math.max(1, lossCount), seconds: (performance.now() - started) / 1000 };
                  curve.push(point);
                  lossSum = 0;
                  lossCount = 0;
                  log.info({ ...point, ap: Number(point.ap.toFixed(2)), ap50: Number(point.ap50.toFixed(2)), loss: Number(point.loss.toFixed(4)), seconds: Math.round(point.seconds) }, "held-out AP after epoch");
                  if (f.curve) await writeFileAtomic(f.curve, `${JSON.stringify({ data: f.data, evalData: f.evalData, model: f.init ?? f.model, seed, lr: opts.lr, batchSize: opts.batchSize, inputSize: cfg.inputSize, curve }, null, 2)}\n`);
                } finally {
                  await detector.close();
                }
              }
            : undefined;
          const progress = progressReporter();
          const res = await trainDetector(det, ds, {
            ...opts,
            onProgress: (p) => {
              lossSum += p.loss;
              lossCount++;
              progress.update(p);
            },
            ...(onEpochEnd ? { onEpochEnd } : {}),
          });
          progress.stop();
          const sha = await saveCheckpoint(f.out, det, { parent, createdBy: `medfcl train (${engine === "ort" ? `onnxruntime ${executionProvider}` : backend})` });
          det.dispose();
          process.stdout.write(`${JSON.stringify({ out: f.out, sha256: sha, steps: res.steps, finalLoss: res.losses.at(-1), imagesPerSec: Number(res.imagesPerSec.toFixed(2)) })}\n`);
        }),
      ),
    [
      "medfcl train --data suite/kvasir/train --model nano --epochs 30 --out nano.safetensors",
      "medfcl train --data site-b/train --init global.safetensors --epochs 5 --out local.safetensors",
      "medfcl model fetch yolox-nano && medfcl train --data kvasir/train --model yolox-nano --epochs 3 --out kvasir.safetensors",
      "medfcl train --data suite/kvasir/train --model nano --steps 500 --engine ort --threads 2 --out nano.safetensors",
      "medfcl train --data real/kvasir/train --eval-data real/kvasir/val --model yolox-nano --epochs 30 --curve kvasir-curve.json --out kvasir.safetensors",
    ],
  );

  withExamples(
    program
      .command("predict")
      .description("run a checkpoint over a dataset and write COCO detections (original image pixels)")
      .requiredOption("--model <ckpt>", "checkpoint (.safetensors)")
      .requiredOption("--data <dir>", "dataset folder; its categories' prompts are the caption")
      .requiredOption("--out <file>", "detections JSON to write")
      .option("--engine <name>", "onnx | tfjs", "onnx")
      .option("--backend <name>", "tfjs backend for --engine tfjs", "wasm")
      .option("--threads <n>", "onnxruntime intra-op threads", "2")
      .option("--score-threshold <x>", "drop detections below this score", "0.05")
      .option("--eval", "also print COCO AP against the dataset's annotations")
      .action(
        action(async (f: { model: string; data: string; out: string; engine: string; backend: string; threads: string; scoreThreshold: string; eval?: boolean }) => {
          const ck = await loadCheckpoint(f.model);
          const ds = await loadCocoDataset(f.data);
          const popts = { scoreThreshold: num("--score-threshold", f.scoreThreshold) };
          let dets;
          if (f.engine === "onnx") {
            const onnxDet = await createOnnxDetector(exportOnnx(ck.config, ck.tensors), ck.config, { threads: num("--threads", f.threads, true) });
            try {
              dets = await onnxDet.predictDataset(ds, popts);
            } finally {
              await onnxDet.close();
            }
          } else if (f.engine === "tfjs") {
            await initBackend(backendOf(f.backend));
            const det = detectorFromWeights(ck.config, ck.tensors);
            dets = await predictDataset(det, ds, popts);
            det.dispose();
          } else {
            throw new ModelOptionError("--engine", `use onnx or tfjs, got "${f.engine}"`);
          }
          await writeFileAtomic(f.out, JSON.stringify(dets));
          const summary: Record<string, unknown> = { out: f.out, detections: dets.length, images: ds.images.length, engine: f.engine };
          if (f.eval) {
            const r = evaluateCoco({ images: ds.images, annotations: ds.annotations, categories: ds.categories }, dets);
            summary.AP = r.stats[0];
            summary.AP50 = r.stats[1];
            summary.AP75 = r.stats[2];
          }
          process.stdout.write(`${JSON.stringify(summary)}\n`);
        }),
      ),
    ["medfcl predict --model nano.safetensors --data suite/kvasir/test --out dt.json --engine onnx --eval"],
  );

  const exp = program.command("export").description("export a checkpoint to another format");
  withExamples(exp, ["medfcl export onnx --model nano.safetensors --out nano.onnx"]);
  withExamples(
    exp
      .command("onnx")
      .description("write the inference graph as ONNX (opset 17; inputs image NHWC, input_ids, attention_mask)")
      .requiredOption("--model <ckpt>", "checkpoint (.safetensors)")
      .requiredOption("--out <file>", "ONNX file to write")
      .action(
        action(async (f: { model: string; out: string }) => {
          const ck = await loadCheckpoint(f.model);
          const bytes = exportOnnx(ck.config, ck.tensors);
          await writeFileAtomic(f.out, bytes);
          process.stdout.write(`${JSON.stringify({ out: f.out, bytes: bytes.length, configHash: configHash(ck.config) })}\n`);
        }),
      ),
    ["medfcl export onnx --model nano.safetensors --out nano.onnx"],
  );

  const model = program.command("model").description("pretrained base models: get and verify their published weights");
  withExamples(model, ["medfcl model fetch yolox-nano", "medfcl model fetch yolox-nano --from /media/usb/yolox_nano.onnx"]);
  withExamples(
    model
      .command("fetch")
      .description(`download a base model's published weights once into the cache (sha256-pinned), or import a local copy: ${BASE_MODELS.join(", ")}`)
      .argument("<name>", BASE_MODELS.join(" | "))
      .option("--from <file>", "import this local copy instead of downloading (for offline sites); its sha256 must match")
      .option("--url <url>", "download from this mirror instead of the pinned URL; the sha256 is checked all the same")
      .action(
        action(async (name: string, f: { from?: string; url?: string }, cmd: Command) => {
          const log = commandLogger(cmd, "model");
          let lastPct = -1;
          const r = await fetchBaseWeights(name, {
            from: f.from,
            url: f.url,
            onProgress: (got, total) => {
              const pct = Math.floor((100 * got) / Math.max(total, 1));
              if (pct >= lastPct + 10) {
                lastPct = pct;
                process.stderr.write(`download ${name}: ${pct}% (${got} of ${total} bytes)\n`);
              }
            },
          });
          const info = PUBLISHED_WEIGHTS[name as keyof typeof PUBLISHED_WEIGHTS];
          log.info({ model: name, source: r.source, license: info.license }, `${name} weights ready`);
          process.stdout.write(`${JSON.stringify({ model: name, path: r.path, sha256: r.sha256, source: r.source, license: info.license })}\n`);
        }),
      ),
    ["medfcl model fetch yolox-nano", "medfcl model fetch yolox-nano --from ./yolox_nano.onnx", "MEDFCL_CACHE=/srv/medfcl-cache medfcl model fetch yolox-nano"],
  );
}
