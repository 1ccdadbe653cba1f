import { statSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { DataArgumentError, DataValidationError, ImageDecodeError } from "./errors.js";
import { sharpFromFile, toRgb } from "./image.js";
import { mixSeed, mulberry32, shuffleInPlace, uniform, type Rng } from "./prng.js";
import {
  type AugmentOptions,
  type CocoDataset,
  type IterateBatchesOptions,
  type LetterboxTransform,
  type LoadSampleOptions,
  type Sample,
} from "./types.js";

/** Letterbox padding value (black, like the borders of endoscopy frames). */
export const PAD_VALUE = 0;

/** Boxes smaller than this (model px) after cropping are dropped from a sample. */
export const MIN_BOX_SIDE = 1;

export function defaultAugmentOptions(): AugmentOptions {
  return { flip: true, scaleJitter: 0.2, colorJitter: 0.2 };
}

/**
 * The command-line form of the augmentation: "none", or comma-separated `flip=0|1`, `scale=J`,
 * `color=C` over the defaults (e.g. "scale=0.4,color=0"). What `medfcl train --augment` reads.
 */
export function parseAugmentSpec(spec: string): AugmentOptions | false {
  const text = spec.trim();
  if (text === "none") return false;
  const o: Partial<AugmentOptions> = {};
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const [key, value, ...rest] = part.split("=").map((x) => x.trim());
    const n = Number(value);
    if (rest.length || value === undefined || value === "" || !Number.isFinite(n)) throw new DataArgumentError(`augmentation "${part}" is not key=number; use "none" or flip=0|1,scale=J,color=C`);
    if (key === "flip" && (n === 0 || n === 1)) o.flip = n === 1;
    else if (key === "scale") o.scaleJitter = n;
    else if (key === "color") o.colorJitter = n;
    else throw new DataArgumentError(`augmentation "${part}": the keys are flip (0 or 1), scale and color`);
  }
  return parseAugmentOptions(o);
}

export function parseAugmentOptions(o: Partial<AugmentOptions>): AugmentOptions {
  const a = { ...defaultAugmentOptions(), ...o };
  if (!(a.scaleJitter >= 0 && a.scaleJitter < 1)) throw new DataArgumentError(`augment.scaleJitter must be in [0, 1), got ${a.scaleJitter}`);
  if (!(a.colorJitter >= 0 && a.colorJitter < 1)) throw new DataArgumentError(`augment.colorJitter must be in [0, 1), got ${a.colorJitter}`);
  return a;
}

/** The centred, aspect-preserving letterbox of an image into a size×size square (no augmentation). */
export function letterboxTransform(width: number, height: number, size: number): LetterboxTransform {
  const scale = size / Math.max(width, height);
  const rw = Math.max(1, Math.round(width * scale));
  const rh = Math.max(1, Math.round(height * scale));
  return { scale, padX: Math.floor((size - rw) / 2), padY: Math.floor((size - rh) / 2), flipped: false, origWidth: width, origHeight: height, size };
}

function jitteredTransform(width: number, height: number, size: number, aug: AugmentOptions, rng: Rng): LetterboxTransform {
  const scale = (size / Math.max(width, height)) * uniform(rng, 1 - aug.scaleJitter, 1 + aug.scaleJitter);
  const rw = Math.max(1, Math.round(width * scale));
  const rh = Math.max(1, Math.round(height * scale));
  // A larger-than-canvas image is cropped at a random offset; a smaller one is placed at a random offset.
  // Without scale jitter the image stays centred, so colour-only augmentation keeps the geometry.
  const place = (free: number): number =>
    aug.scaleJitter === 0 ? Math.floor(free / 2) : free >= 0 ? Math.round(rng() * free) : -Math.round(rng() * -free);
  const padX = place(size - rw);
  const padY = place(size - rh);
  const flipped = aug.flip && rng() < 0.5;
  return { scale, padX, padY, flipped, origWidth: width, origHeight: height, size };
}

/** Maps an original-pixel box (x, y, w, h) to model pixels (x1, y1, x2, y2), unclipped. */
export function letterboxBox(bbox: readonly [number, number, number, number], t: LetterboxTransform): [number, number, number, number] {
  let x1 = bbox[0] * t.scale + t.padX;
  let x2 = (bbox[0] + bbox[2]) * t.scale + t.padX;
  const y1 = bbox[1] * t.scale + t.padY;
  const y2 = (bbox[1] + bbox[3]) * t.scale + t.padY;
  if (t.flipped) [x1, x2] = [t.size - x2, t.size - x1];
  return [x1, y1, x2, y2];
}

/** Maps a model-pixel box (x1, y1, x2, y2) back to original pixels (x, y, w, h), clipped to the image. */
export function unletterboxBox(box: [number, number, number, number], t: LetterboxTransform): [number, number, number, number] {
  const [y1, y2] = [box[1], box[3]];
  let [x1, x2] = [box[0], box[2]];
  if (t.flipped) [x1, x2] = [t.size - x2, t.size - x1];
  const clip = (v: number, hi: number): number => Math.min(hi, Math.max(0, v));
  const ox1 = clip((x1 - t.padX) / t.scale, t.origWidth);
  const ox2 = clip((x2 - t.padX) / t.scale, t.origWidth);
  const oy1 = clip((y1 - t.padY) / t.scale, t.origHeight);
  const oy2 = clip((y2 - t.padY) / t.scale, t.origHeight);
  return [ox1, oy1, Math.max(0, ox2 - ox1), Math.max(0, oy2 - oy1)];
}

/** float32(v / 255) for every byte: a lookup gives exactly what dividing into a Float32Array stored. */
const UNIT_OF_BYTE = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/** Brightness, contrast and saturation factors of one sample's colour jitter, drawn in that order. */
export interface ColorJitterFactors {
  brightness: number;
  contrast: number;
  saturation: number;
}

function colorJitterFactors(amount: number, rng: Rng): ColorJitterFactors {
  const brightness = uniform(rng, 1 - amount, 1 + amount);
  const contrast = uniform(rng, 1 - amount, 1 + amount);
  const saturation = uniform(rng, 1 - amount, 1 + amount);
  return { brightness, contrast, saturation };
}

/**
 * The resized image (rw×rh RGB bytes) on a size×size canvas at the transform's offset, mirrored
 * when flipped, as values in [0, 1], with the colour jitter applied (its contrast pivots on the grey
 * mean of the whole resized image, cropped parts included). One pass over the visible pixels, plus
 * one for the mean, and no intermediate image: this runs on the main thread for every training
 * sample, beside the optimiser step.
 */
export function placeOnCanvas(rgb: Uint8Array, rw: number, rh: number, t: LetterboxTransform, size: number, jitter: ColorJitterFactors | null): Float32Array {
  const pixels = new Float32Array(size * size * 3);
  if (PAD_VALUE !== 0) pixels.fill(PAD_VALUE);
  const u = UNIT_OF_BYTE;
  let mean = 0;
  if (jitter) {
    const n = rw * rh;
    for (let i = 0; i < n; i++) {
      const o = i * 3;
      mean += 0.299 * u[rgb[o]] + 0.587 * u[rgb[o + 1]] + 0.114 * u[rgb[o + 2]];
    }
    mean = (mean / Math.max(1, n)) * jitter.brightness;
  }
  const { padX, padY, flipped } = t;
  const y0 = Math.max(0, padY);
  const y1 = Math.min(size, padY + rh);
  const x0 = Math.max(0, padX);
  const x1 = Math.min(size, padX + rw);
  const bright = jitter ? jitter.brightness : 1;
  const contrast = jitter ? jitter.contrast : 1;
  const saturation = jitter ? jitter.saturation : 1;
  for (let y = y0; y < y1; y++) {
    let s = ((y - padY) * rw + (x0 - padX)) * 3;
    // Mirrored rows are written right to left.
    let d = (y * size + (flipped ? size - 1 - x0 : x0)) * 3;
    const step = flipped ? -3 : 3;
    for (let x = x0; x < x1; x++, s += 3, d += step) {
      let r = u[rgb[s]];
      let g = u[rgb[s + 1]];
      let b = u[rgb[s + 2]];
      if (jitter) {
        r = (r * bright - mean) * contrast + mean;
        g = (g * bright - mean) * contrast + mean;
        b = (b * bright - mean) * contrast + mean;
        const grey = 0.299 * r + 0.587 * g + 0.114 * b;
        r = grey + (r - grey) * saturation;
        g = grey + (g - grey) * saturation;
        b = grey + (b - grey) * saturation;
        r = r < 0 ? 0 : r > 1 ? 1 : r;
        g = g < 0 ? 0 : g > 1 ? 1 : g;
        b = b < 0 ? 0 : b > 1 ? 1 : b;
      }
      pixels[d] = r;
      pixels[d + 1] = g;
      pixels[d + 2] = b;
    }
  }
  return pixels;
}

/**
 * Decoded images kept across epochs: training reads every image once per epoch, and decoding a JPEG
 * costs more than resizing its pixels, on the same two cores the optimiser step needs. Least
 * recently used entries go first once the byte budget is spent (`MEDFCL_DECODE_CACHE_MB`, default
 * 1024; 0 turns the cache off). An entry is keyed by path, size and mtime, so a replaced file is
 * decoded again.
 */
export class DecodedImageCache {
  #entries = new Map<string, { width: number; height: number; data: Uint8Array }>();
  #bytes = 0;
  readonly budget: number;

  constructor(budgetBytes: number) {
    this.budget = budgetBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): { width: number; height: number; data: Uint8Array } | undefined {
    const e = this.#entries.get(key);
    if (e) {
      this.#entries.delete(key);
      this.#entries.set(key, e);
    }
    return e;
  }

  set(key: string, value: { width: number; height: number; data: Uint8Array }): void {
    if (value.data.byteLength > this.budget) return;
    const old = this.#entries.get(key);
    if (old) {
      this.#bytes -= old.data.byteLength;
      this.#entries.delete(key);
    }
    this.#entries.set(key, value);
    this.#bytes += value.data.byteLength;
    for (const [k, e] of this.#entries) {
      if (this.#bytes <= this.budget) break;
      this.#entries.delete(k);
      this.#bytes -= e.data.byteLength;
    }
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }
}

function cacheBudgetBytes(): number {
  const mb = Number(process.env.MEDFCL_DECODE_CACHE_MB ?? 1024);
  return Number.isFinite(mb) && mb > 0 ? mb * 1024 * 1024 : 0;
}

export const decodedImages = new DecodedImageCache(cacheBudgetBytes());

/** The image's full-resolution RGB bytes, from the cache or decoded (and checked against the JSON size). */
async function decodedRgb(ds: CocoDataset, index: number, path: string): Promise<{ width: number; height: number; data: Uint8Array }> {
  const im = ds.images[index];
  let key = "";
  if (decodedImages.budget > 0) {
    try {
      const st = statSync(path);
      key = `${path}\u0000${st.size}\u0000${st.mtimeMs}`;
      const hit = decodedImages.get(key);
      if (hit) return hit;
    } catch {
      // A missing file is reported by the decode below, naming it.
    }
  }
  const pipeline = await sharpFromFile(path);
  const meta = await pipeline.metadata();
  if (meta.width !== im.width || meta.height !== im.height) {
    throw new DataValidationError(ds.dir, [
      { file: path, record: `image ${im.id}`, field: "width/height", message: `the JSON says ${im.width}x${im.height} but the file is ${meta.width}x${meta.height}` },
    ]);
  }
  const rgb = await toRgb(pipeline, path);
  if (key) decodedImages.set(key, rgb);
  return rgb;
}

/**
 * Decodes one image, letterboxes it to size×size with its boxes, and (with `augment`) applies a
 * seeded flip, scale jitter and colour jitter. The same (seed, image) gives the same sample.
 */
export async function loadSample(ds: CocoDataset, index: number, opts: LoadSampleOptions): Promise<Sample> {
  const im = ds.images[index];
  if (!im) throw new DataArgumentError(`sample index ${index} is outside the dataset ${ds.dir} (${ds.images.length} images)`);
  const size = opts.size;
  if (!Number.isInteger(size) || size < 8) throw new DataArgumentError(`sample size must be an integer >= 8, got ${size}`);
  const aug = opts.augment ? opts.augment : null;
  const rng = mulberry32(mixSeed(opts.seed ?? 0, im.id));
  const t = aug ? jitteredTransform(im.width, im.height, size, aug, rng) : letterboxTransform(im.width, im.height, size);
  const rw = Math.max(1, Math.round(im.width * t.scale));
  const rh = Math.max(1, Math.round(im.height * t.scale));
  const path = join(ds.dir, im.file_name);

  let rgb;
  try {
    const full = await decodedRgb(ds, index, path);
    const raw = sharp(Buffer.from(full.data.buffer, full.data.byteOffset, full.data.byteLength), { raw: { width: full.width, height: full.height, channels: 3 } });
    rgb = await toRgb(raw.resize(rw, rh, { fit: "fill", kernel: "linear" }), path);
  } catch (err) {
    if (err instanceof DataValidationError) throw err;
    const msg = err instanceof ImageDecodeError ? err.message : `cannot decode the image: ${err instanceof Error ? err.message : String(err)}`;
    throw new DataValidationError(ds.dir, [{ file: path, record: `image ${im.id}`, field: "file_name", message: `does not decode: ${msg}` }], { cause: err });
  }

  const jitter = aug && aug.colorJitter > 0 ? colorJitterFactors(aug.colorJitter, rng) : null;
  const pixels = placeOnCanvas(rgb.data, rw, rh, t, size, jitter);

  const boxes: number[] = [];
  const labels: number[] = [];
  for (const a of ds.annotationsByImage.get(im.id) ?? []) {
    if (a.iscrowd === 1) continue;
    const [bx1, by1, bx2, by2] = letterboxBox(a.bbox, t).map((v) => Math.min(size, Math.max(0, v)));
    if (bx2 - bx1 < MIN_BOX_SIDE || by2 - by1 < MIN_BOX_SIDE) continue;
    boxes.push(bx1, by1, bx2, by2);
    labels.push(a.category_id);
  }
  return { imageId: im.id, size, pixels, boxes: Float32Array.from(boxes), labels: Int32Array.from(labels), transform: t };
}

/**
 * Yields batches of samples lazily: only the current batch and the one being prefetched are in
 * memory. Shuffling and augmentation are seeded by `seed`; pass a different seed per epoch.
 */
export async function* iterateBatches(ds: CocoDataset, opts: IterateBatchesOptions): AsyncIterable<Sample[]> {
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new DataArgumentError(`batchSize must be a positive integer, got ${opts.batchSize}`);
  const order = opts.indices ? [...opts.indices] : ds.images.map((_, i) => i);
  for (const i of order) {
    if (!Number.isInteger(i) || i < 0 || i >= ds.images.length) throw new DataArgumentError(`index ${i} is outside the dataset ${ds.dir} (${ds.images.length} images)`);
  }
  if (opts.shuffle) shuffleInPlace(order, mulberry32(mixSeed(opts.seed, 0x5f3759df)));
  const keepLast = opts.keepLast ?? true;
  const starts: number[] = [];
  for (let s = 0; s < order.length; s += opts.batchSize) {
    if (s + opts.batchSize > order.length && !keepLast) break;
    starts.push(s);
  }
  const load = (s: number): Promise<Sample[]> =>
    Promise.all(
      order.slice(s, s + opts.batchSize).map((idx, k) => loadSample(ds, idx, { size: opts.size, augment: opts.augment, seed: mixSeed(opts.seed, s + k) })),
    );
  let next = starts.length > 0 ? load(starts[0]) : null;
  for (let b = 0; b < starts.length; b++) {
    const current = next as Promise<Sample[]>;
    next = b + 1 < starts.length ? load(starts[b + 1]) : null;
    // A prefetch that fails while the caller still consumes the current batch must not be unhandled.
    next?.catch(() => undefined);
    yield await current;
  }
}
