import { type Command } from "commander";
import cliProgress from "cli-progress";
import { defaultAugmentOptions, loadCocoDataset, parseAugmentSpec, type AugmentOptions } from "../../services/data/index.js";
import { evaluateCoco } from "../../services/eval/index.js";
import {
  DEFAULT_TRAIN_ENGINE,
  ModelOptionError,
  TRAIN_ENGINES,
  configHash,
  createOnnxDetector,
  detectorFromWeights,
  exportOnnx,
  initBackend,
  loadCheckpoint,
  predictDataset,
  saveCheckpoint,
  trainDetector,
  type BackendName,
  DEFAULT_MODEL_FAMILY,
  baseModelInfo,
  createModelWithBase,
  fetchBaseWeights,
  modelFamily,
  modelFamilyNames,
  needsBaseWeights,
  trainOptionsFor,
  type TensorMap,
  type TrainEngine,
  type TrainOptions,
  type TrainProgress,
} from "../../services/model/index.js";
import { writeFileAtomic } from "../../services/store/index.js";
import { action, commandLogger, defaultByModel, modelFamilyOption, modelOptionHelp, withExamples } from "../context.js";

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
  augment?: string;
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

/** --augment, with the option named in the error (the parser's own message says what is wrong). */
function augmentOf(spec: string): AugmentOptions | false {
  try {
    return parseAugmentSpec(spec);
  } catch (e) {
    throw new ModelOptionError("--augment", e instanceof Error ? e.message : String(e));
  }
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

/**
 * What `medfcl train` trains with: each flag given, else the model family's training defaults
 * (text lr: lr times the family's text ratio; the moving average's decay: the default).
 */
export function trainCommandOptions(model: string, f: Pick<TrainFlags, "lr" | "textLr" | "batchSize" | "freeze" | "emaDecay" | "epochs" | "steps">): TrainOptions {
  const family = modelFamily(model);
  const base = trainOptionsFor(family.name);
  const lr = num("--lr", f.lr) ?? base.lr;
  return {
    ...base,
    lr,
    textLr: num("--text-lr", f.textLr) ?? lr * family.training.textLrRatio,
    batchSize: num("--batch-size", f.batchSize, true) ?? base.batchSize,
    freezeStages: num("--freeze", f.freeze, true) ?? base.freezeStages,
    emaDecay: num("--ema-decay", f.emaDecay) ?? base.emaDecay,
    epochs: num("--epochs", f.epochs, true) ?? base.epochs,
    steps: num("--steps", f.steps, true),
  };
}

export function registerModel(program: Command): void {
  withExamples(
    program
      .command("train")
      .description("train (or fine-tune with --init) the grounded detector on a COCO + prompt dataset folder")
      .requiredOption("--data <dir>", "dataset folder (annotations.json + images/)")
      .requiredOption("--out <file>", "checkpoint to write (.safetensors)")
      .option("--model <name>", `${modelOptionHelp()}; ignored with --init`, modelFamilyOption("--model"), DEFAULT_MODEL_FAMILY)
      .option("--base-weights <file>", "weights of a pretrained --model (default: $MEDFCL_BASE_WEIGHTS, else the cache)")
      .option("--init <ckpt>", "start from this checkpoint (trained with its model family's defaults, as a federated step would)")
      .option("--epochs <n>", `epochs over the data (${defaultByModel("epochs")})`)
      .option("--steps <n>", "optimizer steps (overrides --epochs)")
      .option("--engine <name>", "training engine: tfjs (autodiff, the reference) | ort (onnxruntime training graph on a worker thread)", DEFAULT_TRAIN_ENGINE)
      .option("--threads <n>", "onnxruntime threads for --engine ort (default: the core count)")
      .option("--execution-provider <name>", "onnxruntime execution provider for --engine ort: cpu | cuda (needs onnxruntime-node's CUDA build)", "cpu")
      .option("--backend <name>", "tfjs backend for --engine tfjs: wasm | tensorflow | cpu", "wasm")
      .option("--seed <n>", "seed for init, shuffling and augmentation", "0")
      .option("--lr <x>", `base learning rate (${defaultByModel("lr")})`)
      .option("--text-lr <x>", "text-encoder learning rate (default: lr times the model family's text ratio)")
      .option("--batch-size <n>", `images per step (${defaultByModel("batchSize")})`)
      .option("--size <px>", "input size (not with --init; multiple of 32)")
      .option("--freeze <n>", `frozen bottom image stages (${defaultByModel("freezeStages")})`)
      .option("--ema-decay <d>", "keep an exponential moving average of the weights with this decay and return it (0 = off; default: the model's)")
      .option("--augment <spec>", "augmentation: none, or flip=0|1,scale=J,color=C over the default (flip, scale jitter 0.2, colour jitter 0.2)")
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
          const augment = f.augment === undefined ? defaultAugmentOptions() : augmentOf(f.augment);
          let det;
          let parent = "";
          const size = num("--size", f.size, true);
          if (f.init) {
            const ck = await loadCheckpoint(f.init);
            det = detectorFromWeights(ck.config, ck.tensors);
            parent = ck.metadata["medfcl.tensors_sha256"] ?? "";
          } else {
            const made = await createModelWithBase(f.model, { seed, inputSize: size, baseWeightsFile: f.baseWeights });
            det = detectorFromWeights(made.config, made.weights);
          }
          // Every default is the model family's (of the checkpoint with --init), as a federated step's would be.
          const ds = await loadCocoDataset(f.data);
          const opts = { ...trainCommandOptions(det.config.size, f), seed, augment, engine, threads, executionProvider };
          log.info({ engine, backend, model: det.config.size, configHash: configHash(det.config), images: ds.images.length, lr: opts.lr, batchSize: opts.batchSize, augment }, "training");
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
                  if (f.curve) await writeFileAtomic(f.curve, `${JSON.stringify({ data: f.data, evalData: f.evalData, model: f.init ?? f.model, seed, lr: opts.lr, batchSize: opts.batchSize, inputSize: cfg.inputSize, emaDecay: opts.emaDecay, augment, curve }, null, 2)}\n`);
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
      "medfcl train --data real/kvasir/train --eval-data real/kvasir/val --augment none --curve kvasir-noaug.json --out kvasir-noaug.safetensors",
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

  const model = program.command("model").description("the model families: list them with their training defaults; get and verify published base weights");
  withExamples(model, ["medfcl model list", "medfcl model fetch yolox-nano", "medfcl model fetch yolox-nano --from /media/usb/yolox_nano.onnx"]);
  withExamples(
    model
      .command("list")
      .description("the registered model families, the default first: training defaults and whether they start from published weights")
      .option("--json", "one JSON object: {default, families: [{name, summary, default, baseWeights, training}]}")
      .action(
        action((f: { json?: boolean }) => {
          const names = [DEFAULT_MODEL_FAMILY, ...modelFamilyNames().filter((n) => n !== DEFAULT_MODEL_FAMILY)];
          const families = names.map((n) => {
            const fam = modelFamily(n);
            return { name: n, summary: fam.summary, default: n === DEFAULT_MODEL_FAMILY, baseWeights: fam.baseWeights ? { file: fam.baseWeights.file, sha256: fam.baseWeights.sha256, license: fam.baseWeights.license } : null, training: fam.training };
          });
          if (f.json) {
            process.stdout.write(`${JSON.stringify({ default: DEFAULT_MODEL_FAMILY, families })}\n`);
            return;
          }
          for (const fam of families) {
            const t = fam.training;
            process.stdout.write(
              `${fam.name}${fam.default ? " (default)" : ""}: ${fam.summary}\n  lr ${t.lr} (text ×${t.textLrRatio}), batch ${t.batchSize}, epochs ${t.epochs}, freeze ${t.freezeStages}, clip ${t.gradClip}, weight decay ${t.weightDecay}` +
                `${fam.baseWeights ? `; base weights ${fam.baseWeights.file} (medfcl model fetch ${fam.name})` : "; random initialisation"}\n`,
            );
          }
        }),
      ),
    ["medfcl model list", "medfcl model list --json"],
  );
  withExamples(
    model
      .command("fetch")
      .description(`download a base model's published weights once into the cache (sha256-pinned), or import a local copy: ${modelFamilyNames().filter(needsBaseWeights).join(", ")}`)
      .argument("<name>", modelFamilyNames().filter(needsBaseWeights).join(" | "))
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
          const info = baseModelInfo(name);
          log.info({ model: name, source: r.source, license: info.license }, `${name} weights ready`);
          process.stdout.write(`${JSON.stringify({ model: name, path: r.path, sha256: r.sha256, source: r.source, license: info.license })}\n`);
        }),
      ),
    ["medfcl model fetch yolox-nano", "medfcl model fetch yolox-nano --from ./yolox_nano.onnx", "MEDFCL_CACHE=/srv/medfcl-cache medfcl model fetch yolox-nano"],
  );
}
