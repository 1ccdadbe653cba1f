/**
 * What tells a suite's domains apart, as the pretrained detector sees them. For each domain, a
 * seeded sample of its images is embedded (the deepest backbone features, pooled) in three views:
 * - `frame`: the image as the detector gets it;
 * - `background`: the image with every lesion box (grown by a margin) filled with the frame's mean
 *   colour, so what remains is the device, the light and the mucosa around the lesions;
 * - `lesion`: the largest lesion box, cropped and resized to the input, so what remains is the lesion.
 * Two numbers per domain pair and view: the distance between the domains' centroids in units of
 * their spread, and how often a held-out image is nearer its own domain's centroid (leave one out).
 * Set beside a cross-domain AP matrix, a view whose distances rank the transfer cells is the one
 * that decides the transfer: the device (background) or the lesion.
 */
import { hashString, loadCocoDataset, loadSample, mixSeed, randomShotIndices, readSuiteIndex, type Sample } from "../services/data/index.js";
import type { CrossMatrix } from "../services/eval/index.js";
import type { Logger } from "../services/log/index.js";
import { createModelWithBase, detectorFromWeights, embedSamples, initBackend } from "../services/model/index.js";
import { join, resolve } from "node:path";
import { ExperimentError } from "./errors.js";
import { spearman } from "./tables.js";

export const SEPARABILITY_VIEWS = ["frame", "background", "lesion"] as const;
export type SeparabilityView = (typeof SEPARABILITY_VIEWS)[number];

export interface SeparabilityOptions {
  dataRoot: string;
  /** Domains to compare (default: every domain of the suite). */
  domains?: string[];
  /** Images per domain (those with at least one box), drawn with `seed`. */
  perDomain: number;
  seed: number;
  model: string;
  inputSize?: number;
  baseWeights?: string;
  logger: Logger;
}

export interface PairMeasure {
  /** Centroid distance over the pooled root-mean-square spread around each centroid. */
  distance: number;
  /** Leave-one-out nearest-centroid accuracy, %: 50 is chance, 100 fully separable. */
  accuracy: number;
}

export interface SeparabilityResult {
  dataRoot: string;
  model: string;
  inputSize: number;
  seed: number;
  domains: { name: string; split: string; images: number }[];
  /** views[view][i][j] for domains i ≠ j (symmetric); null on the diagonal. */
  views: Record<SeparabilityView, (PairMeasure | null)[][]>;
}

/** The margin around a box that the background view also blanks (a share of the box side). */
const BOX_MARGIN = 0.1;

const mean = (vs: Float32Array[]): Float64Array => {
  const m = new Float64Array(vs[0].length);
  for (const v of vs) for (let k = 0; k < m.length; k++) m[k] += v[k] / vs.length;
  return m;
};

const sqDist = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += (a[k] - b[k]) ** 2;
  return s;
};

/** Distance and leave-one-out nearest-centroid accuracy of two sets of embeddings (each ≥ 2). */
export function pairSeparability(a: Float32Array[], b: Float32Array[]): PairMeasure {
  if (a.length < 2 || b.length < 2) throw new ExperimentError(`separability needs at least 2 embeddings per domain, got ${a.length} and ${b.length}`);
  const ma = mean(a);
  const mb = mean(b);
  const spread = (vs: Float32Array[], m: Float64Array): number => vs.reduce((s, v) => s + sqDist(v, m), 0) / vs.length;
  const pooled = Math.sqrt((spread(a, ma) + spread(b, mb)) / 2);
  const apart = Math.sqrt(sqDist(ma, mb));
  // Two sets without spread are as far apart as their centroids: nowhere, or beyond any spread.
  const distance = pooled > 0 ? apart / pooled : apart > 0 ? Number.POSITIVE_INFINITY : 0;
  // Leaving x out of its own set moves that centroid to (n·m − x)/(n − 1).
  // A tie between the two centroids counts half: the classifier has to guess.
  const looRight = (own: Float32Array[], mOwn: Float64Array, mOther: Float64Array): number =>
    own.reduce((right, x) => {
      const n = own.length;
      const left = new Float64Array(mOwn.length);
      for (let k = 0; k < left.length; k++) left[k] = (n * mOwn[k] - x[k]) / (n - 1);
      const toOwn = sqDist(x, left);
      const toOther = sqDist(x, mOther);
      return right + (toOwn < toOther ? 1 : toOwn === toOther ? 0.5 : 0);
    }, 0);
  const right = looRight(a, ma, mb) + looRight(b, mb, ma);
  return { distance, accuracy: (100 * right) / (a.length + b.length) };
}

/** The background view: every box, grown by BOX_MARGIN, filled with the mean colour outside the boxes. */
export function backgroundPixels(s: Sample): Float32Array {
  const size = s.size;
  const inBox = new Uint8Array(size * size);
  for (let b = 0; b < s.boxes.length / 4; b++) {
    const [x1, y1, x2, y2] = s.boxes.subarray(b * 4, b * 4 + 4);
    const mx = (x2 - x1) * BOX_MARGIN;
    const my = (y2 - y1) * BOX_MARGIN;
    for (let y = Math.max(0, Math.floor(y1 - my)); y < Math.min(size, Math.ceil(y2 + my)); y++) {
      for (let x = Math.max(0, Math.floor(x1 - mx)); x < Math.min(size, Math.ceil(x2 + mx)); x++) inBox[y * size + x] = 1;
    }
  }
  const fill = [0, 0, 0];
  let outside = 0;
  for (let p = 0; p < size * size; p++) {
    if (inBox[p]) continue;
    outside++;
    for (let c = 0; c < 3; c++) fill[c] += s.pixels[p * 3 + c];
  }
  for (let c = 0; c < 3; c++) fill[c] = outside ? fill[c] / outside : 0.5;
  const out = Float32Array.from(s.pixels);
  for (let p = 0; p < size * size; p++) if (inBox[p]) for (let c = 0; c < 3; c++) out[p * 3 + c] = fill[c];
  return out;
}

/** The lesion view: the largest box, bilinearly resized to the whole input. */
export function lesionPixels(s: Sample): Float32Array {
  const size = s.size;
  let best = 0;
  let bestArea = -1;
  for (let b = 0; b < s.boxes.length / 4; b++) {
    const area = (s.boxes[b * 4 + 2] - s.boxes[b * 4]) * (s.boxes[b * 4 + 3] - s.boxes[b * 4 + 1]);
    if (area > bestArea) [best, bestArea] = [b, area];
  }
  const [x1, y1, x2, y2] = s.boxes.subarray(best * 4, best * 4 + 4);
  const out = new Float32Array(size * size * 3);
  const at = (x: number, y: number, c: number): number => s.pixels[(Math.min(size - 1, Math.max(0, y)) * size + Math.min(size - 1, Math.max(0, x))) * 3 + c];
  for (let y = 0; y < size; y++) {
    const sy = y1 + ((y + 0.5) / size) * (y2 - y1) - 0.5;
    const y0 = Math.floor(sy);
    const fy = sy - y0;
    for (let x = 0; x < size; x++) {
      const sx = x1 + ((x + 0.5) / size) * (x2 - x1) - 0.5;
      const x0 = Math.floor(sx);
      const fx = sx - x0;
      for (let c = 0; c < 3; c++) {
        out[(y * size + x) * 3 + c] =
          (1 - fy) * ((1 - fx) * at(x0, y0, c) + fx * at(x0 + 1, y0, c)) + fy * ((1 - fx) * at(x0, y0 + 1, c) + fx * at(x0 + 1, y0 + 1, c));
      }
    }
  }
  return out;
}

export async function measureSeparability(o: SeparabilityOptions): Promise<SeparabilityResult> {
  const root = resolve(o.dataRoot);
  const index = readSuiteIndex(root);
  const names = o.domains ?? index.domains.map((d) => d.name);
  const unknown = names.filter((n) => !index.domains.some((d) => d.name === n));
  if (unknown.length) throw new ExperimentError(`--domains names ${unknown.join(", ")}, which ${root}/suite.json does not have (it has ${index.domains.map((d) => d.name).join(", ")})`);
  if (names.length < 2) throw new ExperimentError("separability compares at least 2 domains");
  await initBackend("wasm");
  const made = await createModelWithBase(o.model, { seed: o.seed, inputSize: o.inputSize, baseWeightsFile: o.baseWeights });
  const det = detectorFromWeights(made.config, made.weights);
  const size = det.config.inputSize;
  const embedded: Record<SeparabilityView, Float32Array[][]> = { frame: [], background: [], lesion: [] };
  const domains: SeparabilityResult["domains"] = [];
  for (const name of names) {
    const d = index.domains.find((x) => x.name === name)!;
    // Training images where the domain has them: what a model of that domain learned from.
    const split = d.splits.train ?? d.splits.test;
    const ds = await loadCocoDataset(join(root, split));
    const withBoxes = ds.images.map((im, i) => ((ds.annotationsByImage.get(im.id) ?? []).length > 0 ? i : -1)).filter((i) => i >= 0);
    const picked = randomShotIndices(withBoxes.length, o.perDomain, mixSeed(o.seed, hashString(name))).map((i) => withBoxes[i]);
    const samples = (await Promise.all(picked.map((i) => loadSample(ds, i, { size })))).filter((s) => s.boxes.length > 0);
    if (samples.length < 2) throw new ExperimentError(`domain ${name} (${split}) has ${samples.length} image(s) with a box at ${size} px; separability needs at least 2`);
    const views: Record<SeparabilityView, Float32Array[]> = {
      frame: samples.map((s) => s.pixels),
      background: samples.map(backgroundPixels),
      lesion: samples.map(lesionPixels),
    };
    for (const view of SEPARABILITY_VIEWS) embedded[view].push(await embedSamples(det, samples.map((s, i) => ({ ...s, pixels: views[view][i] }))));
    domains.push({ name, split, images: samples.length });
    o.logger.info({ domain: name, split, images: samples.length }, "domain embedded");
  }
  const views = Object.fromEntries(
    SEPARABILITY_VIEWS.map((view) => [view, names.map((_, i) => names.map((__, j) => (i === j ? null : pairSeparability(embedded[view][i], embedded[view][j]))))]),
  ) as SeparabilityResult["views"];
  det.dispose();
  return { dataRoot: root, model: o.model, inputSize: size, seed: o.seed, domains, views };
}

/**
 * Per view, Spearman's ρ between the domains' distance and the transfer AP over the off-diagonal
 * cells the matrix shares with the measurement (negative: farther domains transfer worse). `map`
 * renames the measurement's domains to the matrix's.
 */
export function separabilityAgainstTransfer(r: SeparabilityResult, m: CrossMatrix, map: Record<string, string> = {}): { view: SeparabilityView; rho: number; cells: number }[] {
  const name = (d: string): string => map[d] ?? d;
  const names = r.domains.map((d) => name(d.name));
  return SEPARABILITY_VIEWS.map((view) => {
    const dist: number[] = [];
    const ap: number[] = [];
    m.train.forEach((tr, i) => {
      m.test.forEach((te, j) => {
        const a = names.indexOf(tr);
        const b = names.indexOf(te);
        const v = m.ap[i][j];
        if (a < 0 || b < 0 || a === b || v === null) return;
        dist.push(r.views[view][a][b]!.distance);
        ap.push(v);
      });
    });
    if (dist.length < 2) throw new ExperimentError(`the matrix shares ${dist.length} off-diagonal cell(s) with the measured domains; map the names with --map`);
    return { view, rho: spearman(dist, ap), cells: dist.length };
  });
}
