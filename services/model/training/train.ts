import { iterateBatches, loadSample, mixSeed, mulberry32, type CocoDataset, type Sample } from "../../data/index.js";
import { tf } from "../tfjs/backend.js";
import { ensureGradients } from "../tfjs/gradients.js";
import { asTfDetector, type Detector, type TfDetector } from "../tfjs/detector.js";
import { DEFAULT_EMA_DECAY } from "../core/constants.js";
import { ModelOptionError } from "../core/errors.js";
import { defaultLossWeights, detectionLoss, type LossWeights } from "../tfjs/loss.js";
import { forward } from "../families/index.js";
import { locations, type Locations } from "../tfjs/model.js";
import { emaDecayAt, lrFactor, trainableSpecs, type TrainBatch } from "./schedule.js";
import { assignTargets } from "./targets.js";
import { encodeCaption, type EncodedCaption } from "../core/tokenizer.js";
import { DEFAULT_TRAIN_ENGINE, TRAIN_ENGINES, type ModelConfig, type TensorMap, type TrainOptions, type TrainResult } from "../core/types.js";

/** Checks training options; an unset `emaDecay` becomes DEFAULT_EMA_DECAY. */
export function parseTrainOptions(o: TrainOptions): TrainOptions {
  const r = { ...o, emaDecay: o.emaDecay ?? DEFAULT_EMA_DECAY };
  const posInt = (v: number | undefined, f: string) => {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new ModelOptionError(f, `must be a positive integer, got ${v}`);
  };
  posInt(r.batchSize, "batchSize");
  posInt(r.epochs, "epochs");
  posInt(r.steps, "steps");
  posInt(r.threads, "threads");
  if (r.engine !== undefined && !TRAIN_ENGINES.includes(r.engine)) throw new ModelOptionError("engine", `use ${TRAIN_ENGINES.join(" or ")}, got "${String(r.engine)}"`);
  if (r.executionProvider !== undefined && r.executionProvider !== "cpu" && r.executionProvider !== "cuda") throw new ModelOptionError("executionProvider", `use cpu or cuda, got "${String(r.executionProvider)}"`);
  for (const f of ["lr", "textLr", "weightDecay", "gradClip"] as const) {
    if (!Number.isFinite(r[f]) || r[f] < 0) throw new ModelOptionError(f, `must be a finite number >= 0, got ${r[f]}`);
  }
  if (!Number.isInteger(r.freezeStages) || r.freezeStages < 0 || r.freezeStages > 5) throw new ModelOptionError("freezeStages", "must be 0..5");
  if (r.replay && !(r.replay.ratio >= 0 && r.replay.ratio < 1)) throw new ModelOptionError("replay.ratio", `must be in [0, 1), got ${r.replay.ratio}`);
  if (r.emaDecay !== undefined && !(r.emaDecay >= 0 && r.emaDecay < 1)) throw new ModelOptionError("emaDecay", `must be in [0, 1), got ${r.emaDecay}`);
  return r;
}

/** Packs samples (each with its dataset's caption) into flat arrays. */
export function packBatch(cfg: ModelConfig, samples: Sample[], captions: EncodedCaption[]): TrainBatch {
  const size = cfg.inputSize;
  const images = new Float32Array(samples.length * size * size * 3);
  const ids = new Int32Array(samples.length * cfg.maxTokens);
  const mask = new Float32Array(samples.length * cfg.maxTokens);
  samples.forEach((s, i) => {
    images.set(s.pixels, i * size * size * 3);
    ids.set(captions[i].ids, i * cfg.maxTokens);
    mask.set(captions[i].mask, i * cfg.maxTokens);
  });
  return { images, ids, mask, size, targets: samples.map((s, i) => ({ boxes: s.boxes, labels: s.labels, spans: captions[i].spans })) };
}

interface AdamSlot {
  /** The parameter's name in the checkpoint. */
  name: string;
  v: tf.Variable;
  m: tf.Variable;
  s: tf.Variable;
  /** The moving average of v (with opts.emaDecay). */
  ema?: tf.Variable;
  lr: number;
  decay: boolean;
}

/**
 * Adam with decoupled weight decay (AdamW) and two parameter groups (base and text lr), global-norm
 * gradient clipping, and a linear warm-up followed by cosine decay to 10 % of the lr.
 */
export class Trainer {
  readonly det: TfDetector;
  readonly opts: TrainOptions;
  readonly lossWeights: LossWeights;
  #slots: AdamSlot[] = [];
  #step = 0;
  #strides: tf.Tensor1D;
  #loc: Locations;

  constructor(det: TfDetector, opts: TrainOptions, lossWeights: LossWeights = defaultLossWeights()) {
    // It differentiates through every op of the forward pass and the loss.
    ensureGradients();
    this.det = det;
    this.opts = opts;
    this.lossWeights = lossWeights;
    for (const spec of trainableSpecs(det.specs, opts.freezeStages)) {
      const v = det.vars.get(spec.name)!;
      this.#slots.push({
        name: spec.name,
        v,
        m: tf.variable(tf.zerosLike(v), false),
        s: tf.variable(tf.zerosLike(v), false),
        ...(opts.emaDecay ? { ema: tf.variable(v.clone(), false) } : {}),
        lr: spec.group === "text" ? opts.textLr : opts.lr,
        decay: spec.decay,
      });
    }
    this.#loc = locations(det.config);
    this.#strides = tf.tensor1d(this.#loc.stride);
  }

  get stepCount(): number {
    return this.#step;
  }

  lrFactor(step: number, totalSteps: number): number {
    return lrFactor(this.opts, step, totalSteps);
  }

  /** One optimisation step; returns the loss. Leaves no tensors behind. */
  step(batch: TrainBatch, totalSteps: number): number {
    const cfg = this.det.config;
    const b = batch.targets.length;
    const t = assignTargets(cfg, this.#loc, batch.targets, cfg.maxTokens);
    const factor = this.lrFactor(this.#step, totalSteps);
    this.#step++;
    const stepNo = this.#step;
    const beta1 = 0.9;
    const beta2 = 0.999;
    const eps = 1e-8;
    const lossValue = tf.tidy(() => {
      const images = tf.tensor4d(batch.images, [b, batch.size, batch.size, 3]);
      const ids = tf.tensor2d(batch.ids, [b, cfg.maxTokens], "int32");
      const mask = tf.tensor2d(batch.mask, [b, cfg.maxTokens]);
      const { value, grads } = tf.variableGrads(() => {
        const out = forward(cfg, this.det.lookup, images, ids, mask);
        return detectionLoss(out, t, mask, this.#strides, this.lossWeights, cfg.quality).total;
      }, this.#slots.map((s) => s.v));
      const gs = this.#slots.map((s) => grads[s.v.name]);
      let scale: tf.Tensor = tf.scalar(1);
      if (this.opts.gradClip > 0) {
        const sq = tf.addN(gs.map((g) => tf.sum(tf.square(g))));
        const norm = tf.sqrt(sq);
        scale = tf.minimum(1, tf.div(this.opts.gradClip, tf.add(norm, 1e-6)));
      }
      const bc1 = 1 - beta1 ** stepNo;
      const bc2 = 1 - beta2 ** stepNo;
      this.#slots.forEach((s, i) => {
        const g = tf.mul(gs[i], scale);
        const m = tf.add(tf.mul(s.m, beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(s.s, beta2), tf.mul(tf.square(g), 1 - beta2));
        s.m.assign(m);
        s.s.assign(v);
        const lr = s.lr * factor;
        let upd = tf.mul(tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), eps)), lr);
        if (s.decay && this.opts.weightDecay > 0) upd = tf.add(upd, tf.mul(s.v, lr * this.opts.weightDecay));
        s.v.assign(tf.sub(s.v, upd));
      });
      if (this.opts.emaDecay) {
        const d = emaDecayAt(this.opts.emaDecay, stepNo);
        for (const s of this.#slots) s.ema!.assign(tf.add(tf.mul(s.ema!, d), tf.mul(s.v, 1 - d)));
      }
      return value.dataSync()[0];
    });
    return lossValue;
  }

  /** The weights training returns: the moving average when it is kept, else the last step's. */
  weights(): TensorMap {
    const w = this.det.getWeights();
    if (!this.opts.emaDecay) return w;
    for (const s of this.#slots) w.set(s.name, { dtype: "float32", shape: [...s.v.shape], data: Float32Array.from(s.ema!.dataSync()) });
    return w;
  }

  /** Puts the moving average into the detector (the end of training). */
  commitAverage(): void {
    if (!this.opts.emaDecay) return;
    for (const s of this.#slots) s.v.assign(s.ema!);
  }

  dispose(): void {
    for (const s of this.#slots) {
      s.m.dispose();
      s.s.dispose();
      s.ema?.dispose();
    }
    this.#slots = [];
    this.#strides.dispose();
  }
}

function captionOrThrow(ds: CocoDataset, cfg: ModelConfig): EncodedCaption {
  return encodeCaption(ds.categories, cfg);
}

/**
 * Each image's caption: its `caption_categories` when set (a pool or buffer that mixes label
 * sets), else every category of the dataset. Encoded once per distinct category set, and only when
 * needed, so a dataset whose full caption would not fit still trains when every image has its own.
 */
function captionsOf(ds: CocoDataset, cfg: ModelConfig): (imageId: number) => EncodedCaption {
  const byId = new Map(ds.images.map((im) => [im.id, im]));
  const cache = new Map<string, EncodedCaption>();
  return (imageId) => {
    const ids = byId.get(imageId)?.caption_categories;
    const key = ids ? [...ids].sort((a, b) => a - b).join(",") : "*";
    let caption = cache.get(key);
    if (!caption) {
      caption = ids ? encodeCaption(ds.categories.filter((c) => ids.includes(c.id)), cfg) : captionOrThrow(ds, cfg);
      cache.set(key, caption);
    }
    return caption;
  };
}

/**
 * Each listed image's detection loss (`detectionLoss(...).total`, what training minimises) under the
 * detector as it is now: no augmentation, the image's own caption, one image per forward pass so
 * each loss is normalised by that image's own positives. Loss-aware exemplar selection ranks by it.
 */
export async function imageLosses(detector: Detector, ds: CocoDataset, indices: readonly number[], lossWeights: LossWeights = defaultLossWeights()): Promise<number[]> {
  const det = asTfDetector(detector);
  const cfg = det.config;
  const caption = captionsOf(ds, cfg);
  const loc = locations(cfg);
  const strides = tf.tensor1d(loc.stride);
  try {
    const losses: number[] = [];
    for (const index of indices) {
      const sample = await loadSample(ds, index, { size: cfg.inputSize });
      const batch = packBatch(cfg, [sample], [caption(sample.imageId)]);
      const targets = assignTargets(cfg, loc, batch.targets, cfg.maxTokens);
      losses.push(
        tf.tidy(() => {
          const images = tf.tensor4d(batch.images, [1, batch.size, batch.size, 3]);
          const ids = tf.tensor2d(batch.ids, [1, cfg.maxTokens], "int32");
          const mask = tf.tensor2d(batch.mask, [1, cfg.maxTokens]);
          const out = forward(cfg, det.lookup, images, ids, mask);
          return detectionLoss(out, targets, mask, strides, lossWeights, cfg.quality).total.dataSync()[0];
        }),
      );
    }
    return losses;
  } finally {
    strides.dispose();
  }
}

interface StepEngine {
  step(batch: TrainBatch, totalSteps: number): Promise<number>;
  /** The weights as they are now (no step may be in flight). */
  weights(): Promise<TensorMap>;
  /** Releases the engine; after a successful run, leaves the trained weights in the detector. */
  finish(ok: boolean): Promise<void>;
  /** Seconds spent inside steps so far, where the engine runs them off this thread (ort). */
  busySeconds?(): number;
}

async function startEngine(det: TfDetector, opts: TrainOptions, totalSteps: number): Promise<StepEngine> {
  if ((opts.engine ?? DEFAULT_TRAIN_ENGINE) === "tfjs") {
    const trainer = new Trainer(det, opts);
    return {
      step: async (batch) => trainer.step(batch, totalSteps),
      weights: async () => trainer.weights(),
      finish: async (ok) => {
        if (ok) trainer.commitAverage();
        trainer.dispose();
      },
    };
  }
  // Loaded on demand: onnxruntime training imports this module, and tfjs-only hosts never need it.
  const { OrtWorkerTrainer } = await import("./ort/engine.js");
  const ort = await OrtWorkerTrainer.start(det.config, det.getWeights(), opts, { threads: opts.threads, executionProvider: opts.executionProvider });
  return {
    step: async (batch) => (await ort.step(batch, totalSteps, opts.signal)).loss,
    weights: () => ort.getWeights(),
    busySeconds: () => ort.busyMs / 1000,
    finish: async (ok) => {
      try {
        if (ok) det.setWeights(await ort.getWeights());
      } finally {
        await ort.close();
      }
    },
  };
}

/** Steps handed to the engine before the oldest has finished (see trainDetector). */
const STEPS_IN_FLIGHT = 2;

/**
 * Fine-tunes `det` in place on `ds` (plus, with `replay`, a share of each batch drawn from a second
 * dataset, each sample with its own dataset's caption). Shuffling, augmentation and replay picks are
 * seeded by `opts.seed`. With `opts.engine` "ort" the steps run in the onnxruntime training graph on
 * a worker thread (services/model/training/ort), and the trained weights are copied back at the end.
 */
export async function trainDetector(detector: Detector, ds: CocoDataset, options: TrainOptions): Promise<TrainResult> {
  const det = asTfDetector(detector);
  const opts = parseTrainOptions(options);
  const cfg = det.config;
  if (ds.images.length === 0) throw new ModelOptionError("data", `the dataset ${ds.dir} has no images`);
  const caption = captionsOf(ds, cfg);
  const replay = opts.replay && opts.replay.ratio > 0 && opts.replay.dataset.images.length > 0 ? opts.replay : undefined;
  const replayCaption = replay ? captionsOf(replay.dataset, cfg) : undefined;
  const perStepMain = replay ? Math.max(1, Math.round(opts.batchSize * (1 - replay.ratio))) : opts.batchSize;
  const stepsPerEpoch = Math.ceil(ds.images.length / perStepMain);
  const totalSteps = opts.steps ?? (opts.epochs ?? 1) * stepsPerEpoch;
  const runOpts = { ...opts, warmupSteps: opts.warmupSteps ?? Math.min(50, Math.floor(totalSteps / 10)) };
  const engine = await startEngine(det, runOpts, totalSteps);
  const rng = mulberry32(mixSeed(opts.seed, 0x7e91a));
  const losses: number[] = [];
  let images = 0;
  let ok = false;
  let submitted = 0;
  // Up to STEPS_IN_FLIGHT steps queued: the onnxruntime engine steps on a worker thread while this
  // thread loads and augments the next batch, and the worker starts the next step the moment one
  // ends instead of waiting for this thread to hand it over (tfjs steps synchronously, so for it
  // this is the plain loop). The worker runs them one at a time, in order.
  const pending: Promise<void>[] = [];
  const settle = async (keep = 0) => {
    while (pending.length > keep) await pending.shift();
  };
  const t0 = performance.now();
  try {
    let epoch = 0;
    while (submitted < totalSteps) {
      for await (const main of iterateBatches(ds, { batchSize: perStepMain, size: cfg.inputSize, shuffle: true, seed: mixSeed(opts.seed, epoch), augment: opts.augment, keepLast: true })) {
        if (submitted >= totalSteps) break;
        if (opts.signal?.aborted) throw opts.signal.reason ?? new ModelOptionError("signal", "training was aborted");
        const samples: Sample[] = [...main];
        const captions: EncodedCaption[] = main.map((sample) => caption(sample.imageId));
        if (replay && replayCaption) {
          const nReplay = opts.batchSize - perStepMain;
          const picks = Array.from({ length: nReplay }, () => Math.floor(rng() * replay.dataset.images.length));
          const extra = await Promise.all(picks.map((i) => loadSample(replay.dataset, i, { size: cfg.inputSize, augment: opts.augment, seed: mixSeed(opts.seed, epoch, i) })));
          samples.push(...extra);
          captions.push(...extra.map((sample) => replayCaption(sample.imageId)));
        }
        const batch = packBatch(cfg, samples, captions);
        await settle(STEPS_IN_FLIGHT - 1);
        submitted++;
        const step = engine.step(batch, totalSteps).then((loss) => {
          losses.push(loss);
          images += samples.length;
          const secs = (performance.now() - t0) / 1000;
          opts.onProgress?.({ step: losses.length, totalSteps, loss, imagesPerSec: images / Math.max(secs, 1e-9), engineBusySeconds: engine.busySeconds?.() });
        });
        step.catch(() => {}); // rethrown by settle()
        pending.push(step);
      }
      epoch++;
      if (opts.onEpochEnd && submitted < totalSteps) {
        await settle();
        await opts.onEpochEnd(epoch, () => engine.weights());
      }
    }
    await settle();
    // The last epoch's hook sees the final weights (a run cut short by --steps ends mid-epoch).
    if (opts.onEpochEnd && submitted === totalSteps && totalSteps % stepsPerEpoch === 0) await opts.onEpochEnd(epoch, () => engine.weights());
    ok = true;
  } finally {
    await Promise.allSettled(pending);
    await engine.finish(ok);
  }
  const secs = (performance.now() - t0) / 1000;
  return { losses, steps: losses.length, imagesPerSec: images / Math.max(secs, 1e-9) };
}

