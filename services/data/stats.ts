import { join } from "node:path";
import { DataArgumentError } from "./errors.js";
import { sharpFromFile, toRgb } from "./image.js";
import { mapLimit } from "./pool.js";
import { type CocoDataset } from "./types.js";

export interface HistogramOptions {
  /** Bins per channel. */
  bins: number;
  /** At most this many images (evenly spaced) are read per dataset. */
  maxImages: number;
  /** Images are shrunk so their long side is at most this many pixels before counting. */
  maxSide: number;
}

export function defaultHistogramOptions(): HistogramOptions {
  return { bins: 32, maxImages: 24, maxSide: 96 };
}

/** Per-channel colour histogram of a dataset: 3*bins values, each channel's bins sum to 1. */
export async function datasetHistogram(ds: CocoDataset, options: Partial<HistogramOptions> = {}): Promise<Float64Array> {
  const o = { ...defaultHistogramOptions(), ...options };
  if (ds.images.length === 0) throw new DataArgumentError(`dataset ${ds.dir} has no images to measure`);
  const n = Math.min(o.maxImages, ds.images.length);
  const picks = Array.from({ length: n }, (_, i) => Math.floor((i * ds.images.length) / n));
  const hist = new Float64Array(3 * o.bins);
  const parts = await mapLimit(picks, 4, async (idx) => {
    const im = ds.images[idx];
    const path = join(ds.dir, im.file_name);
    const p = await sharpFromFile(path);
    return toRgb(p.resize(o.maxSide, o.maxSide, { fit: "inside", withoutEnlargement: true }), path);
  });
  for (const img of parts) {
    // Each image weighs the same, whatever its size.
    const px = img.width * img.height;
    for (let i = 0; i < px; i++) {
      for (let c = 0; c < 3; c++) hist[c * o.bins + Math.min(o.bins - 1, Math.floor((img.data[i * 3 + c] * o.bins) / 256))] += 1 / px;
    }
  }
  for (let c = 0; c < 3; c++) {
    let s = 0;
    for (let b = 0; b < o.bins; b++) s += hist[c * o.bins + b];
    for (let b = 0; b < o.bins; b++) hist[c * o.bins + b] /= s;
  }
  return hist;
}

/** Hellinger distance averaged over the three channels: 0 for equal histograms, 1 for disjoint ones. */
export function histogramDistance(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length || a.length % 3 !== 0) throw new DataArgumentError(`histograms differ in length (${a.length} vs ${b.length})`);
  const bins = a.length / 3;
  let total = 0;
  for (let c = 0; c < 3; c++) {
    let bc = 0;
    for (let k = 0; k < bins; k++) bc += Math.sqrt(a[c * bins + k] * b[c * bins + k]);
    total += Math.sqrt(Math.max(0, 1 - bc));
  }
  return total / 3;
}

export interface DomainDistanceReport {
  names: string[];
  /** Symmetric, zero diagonal. */
  matrix: number[][];
  /** Mean distance of each domain to all the others. */
  meanToOthers: number[];
  /** The domain with the largest mean distance. */
  farthest: string;
}

/** Pairwise colour-histogram distances between named datasets (the domain-shift report). */
export async function domainDistances(domains: { name: string; ds: CocoDataset }[], options: Partial<HistogramOptions> = {}): Promise<DomainDistanceReport> {
  if (domains.length < 2) throw new DataArgumentError("a distance report needs at least two domains");
  const hists: Float64Array[] = [];
  for (const d of domains) hists.push(await datasetHistogram(d.ds, options));
  const matrix = hists.map((a) => hists.map((b) => (a === b ? 0 : histogramDistance(a, b))));
  const meanToOthers = matrix.map((row) => row.reduce((s, v) => s + v, 0) / (row.length - 1));
  let best = 0;
  meanToOthers.forEach((v, i) => {
    if (v > meanToOthers[best]) best = i;
  });
  return { names: domains.map((d) => d.name), matrix, meanToOthers, farthest: domains[best].name };
}

/** A Markdown table of a distance report. */
export function formatDistanceReport(r: DomainDistanceReport): string {
  const head = `| domain | ${r.names.join(" | ")} | mean to others |`;
  const sep = `|---|${r.names.map(() => "---:").join("|")}|---:|`;
  const rows = r.names.map((n, i) => `| ${n} | ${r.matrix[i].map((v) => v.toFixed(3)).join(" | ")} | ${r.meanToOthers[i].toFixed(3)} |`);
  return [head, sep, ...rows, "", `farthest from the others: ${r.farthest}`].join("\n");
}
