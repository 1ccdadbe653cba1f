import { iterateBatches, unletterboxBox, type CocoDataset, type Sample } from "../../data/index.js";
import type { CocoDetection } from "../../eval/types.js";
import { tf } from "./backend.js";
import { asTfDetector, type Detector, type TfDetector } from "./detector.js";
import { familyOf, forward } from "../families/index.js";
import { locations, type Locations } from "./model.js";
import { encodeCaption, type EncodedCaption } from "../core/tokenizer.js";
import type { ModelConfig, PredictOptions } from "../core/types.js";

export function defaultPredictOptions(): Required<PredictOptions> {
  return { scoreThreshold: 0.05, topK: 100, nmsIou: 0.6, batchSize: 8 };
}

/** Raw outputs of one image as flat arrays (what both the tfjs and the ONNX engines produce). */
export interface RawImageOutputs {
  /** [N, M] */
  logits: Float32Array;
  /** [N, 4] l,t,r,b px */
  boxes: Float32Array;
  /** [N] centerness logits */
  centerness: Float32Array;
}

export interface ModelPixelDetection {
  box: [number, number, number, number];
  score: number;
  categoryId: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

function iou(a: number[], b: number[]): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/**
 * Phrase score = mean of the sigmoid scores of the category name's tokens, combined with the
 * centerness as sqrt(score · σ(ctr)); then threshold, per-class greedy NMS and top-k.
 */
export function decodeDetections(
  raw: RawImageOutputs,
  loc: Locations,
  m: number,
  spans: Map<number, number[]>,
  size: number,
  opts: Required<PredictOptions>,
): ModelPixelDetection[] {
  const n = loc.x.length;
  const perClass = new Map<number, { box: number[]; score: number }[]>();
  for (let i = 0; i < n; i++) {
    const c = sigmoid(raw.centerness[i]);
    let boxDone: number[] | null = null;
    for (const [cat, span] of spans) {
      let s = 0;
      for (const t of span) s += sigmoid(raw.logits[i * m + t]);
      const score = Math.sqrt((s / span.length) * c);
      if (score < opts.scoreThreshold) continue;
      if (!boxDone) {
        const [l, t, r, b] = [raw.boxes[4 * i], raw.boxes[4 * i + 1], raw.boxes[4 * i + 2], raw.boxes[4 * i + 3]];
        boxDone = [Math.max(0, loc.x[i] - l), Math.max(0, loc.y[i] - t), Math.min(size, loc.x[i] + r), Math.min(size, loc.y[i] + b)];
      }
      if (boxDone[2] <= boxDone[0] || boxDone[3] <= boxDone[1]) continue;
      let list = perClass.get(cat);
      if (!list) perClass.set(cat, (list = []));
      list.push({ box: boxDone, score });
    }
  }
  const out: ModelPixelDetection[] = [];
  for (const [cat, list] of perClass) {
    list.sort((a, b) => b.score - a.score);
    const cand = list.slice(0, 1000);
    const kept: { box: number[]; score: number }[] = [];
    for (const d of cand) {
      if (kept.length >= opts.topK) break;
      if (kept.every((k) => iou(k.box, d.box) <= opts.nmsIou)) kept.push(d);
    }
    for (const k of kept) out.push({ box: k.box as [number, number, number, number], score: k.score, categoryId: cat });
  }
  out.sort((a, b) => b.score - a.score);
  return out.slice(0, opts.topK);
}

/** Maps model-pixel detections back to original image pixels as COCO results. */
export function toCocoDetections(dets: ModelPixelDetection[], sample: Sample): CocoDetection[] {
  const res: CocoDetection[] = [];
  for (const d of dets) {
    const bbox = unletterboxBox(d.box, sample.transform);
    if (bbox[2] <= 0 || bbox[3] <= 0) continue;
    res.push({ image_id: sample.imageId, category_id: d.categoryId, bbox, score: d.score });
  }
  return res;
}

/** Runs any engine's raw forward over a dataset in batches and decodes COCO detections. */
export async function predictWith(
  cfg: ModelConfig,
  ds: CocoDataset,
  run: (images: Float32Array, batch: number, caption: EncodedCaption) => Promise<RawImageOutputs[]>,
  options: PredictOptions = {},
): Promise<CocoDetection[]> {
  const opts = { ...defaultPredictOptions(), ...options };
  const caption = encodeCaption(ds.categories, cfg);
  const loc = locations(cfg);
  const size = cfg.inputSize;
  const out: CocoDetection[] = [];
  for await (const batch of iterateBatches(ds, { batchSize: opts.batchSize, size, shuffle: false, seed: 0, augment: false })) {
    const images = new Float32Array(batch.length * size * size * 3);
    batch.forEach((s, i) => images.set(s.pixels, i * size * size * 3));
    const raws = await run(images, batch.length, caption);
    raws.forEach((raw, i) => out.push(...toCocoDetections(decodeDetections(raw, loc, cfg.maxTokens, caption.spans, size, opts), batch[i])));
  }
  return out;
}

/** tfjs forward pass returning per-image flat raw outputs. */
export function runTfjs(det: TfDetector, images: Float32Array, batch: number, caption: EncodedCaption): RawImageOutputs[] {
  const cfg = det.config;
  const m = cfg.maxTokens;
  const { logits, boxes, centerness } = tf.tidy(() => {
    const x = tf.tensor4d(images, [batch, cfg.inputSize, cfg.inputSize, 3]);
    const ids = tf.tensor2d(Int32Array.from({ length: batch * m }, (_, i) => caption.ids[i % m]), [batch, m], "int32");
    const mask = tf.tensor2d(Float32Array.from({ length: batch * m }, (_, i) => caption.mask[i % m]), [batch, m]);
    const o = forward(cfg, det.lookup, x, ids, mask);
    return { logits: o.logits.dataSync() as Float32Array, boxes: o.boxes.dataSync() as Float32Array, centerness: o.centerness.dataSync() as Float32Array };
  });
  const n = logits.length / (batch * m);
  return Array.from({ length: batch }, (_, i) => ({
    logits: logits.slice(i * n * m, (i + 1) * n * m),
    boxes: boxes.slice(i * n * 4, (i + 1) * n * 4),
    centerness: centerness.slice(i * n, (i + 1) * n),
  }));
}

/** COCO detections (original pixels) for every image of `ds`, prompted with its categories. */
export async function predictDataset(detector: Detector, ds: CocoDataset, options: PredictOptions = {}): Promise<CocoDetection[]> {
  const det = asTfDetector(detector);
  return predictWith(det.config, ds, async (images, batch, caption) => runTfjs(det, images, batch, caption), options);
}

/** Global-average-pooled deepest image features (C5), one vector per sample: for herding / k-center replay samplers. */
export async function embedSamples(detector: Detector, samples: Sample[]): Promise<Float32Array[]> {
  const det = asTfDetector(detector);
  const cfg = det.config;
  const out: Float32Array[] = [];
  for (let s = 0; s < samples.length; s += 16) {
    const chunk = samples.slice(s, s + 16);
    const data = tf.tidy(() => {
      const images = new Float32Array(chunk.length * cfg.inputSize * cfg.inputSize * 3);
      chunk.forEach((x, i) => images.set(x.pixels, i * cfg.inputSize * cfg.inputSize * 3));
      const x = tf.tensor4d(images, [chunk.length, cfg.inputSize, cfg.inputSize, 3]);
      const deepest = familyOf(cfg).embed(cfg, det.lookup, x);
      return tf.mean(deepest, [1, 2]).dataSync() as Float32Array;
    });
    const c = familyOf(cfg).embedChannels(cfg);
    chunk.forEach((_, i) => out.push(data.slice(i * c, (i + 1) * c)));
  }
  return out;
}
