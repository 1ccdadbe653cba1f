/**
 * Agreement between two annotations of the same images (e.g. Kvasir-SEG's official box file and
 * boxes derived from its masks): per image, boxes are matched one to one by IoU, and the image's
 * score is the sum of matched IoUs over the larger box count, so a missing or extra box costs as
 * much as a box that misses entirely.
 */
import { basename, extname } from "node:path";
import { type CocoDataset } from "./types.js";

type Box = [number, number, number, number];

export function boxIou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const union = a[2] * a[3] + b[2] * b[3] - inter;
  return union > 0 ? inter / union : 0;
}

/** Greedy one-to-one matching, highest IoU first (ties: lower index of `a`, then of `b`). */
export function imageAgreement(a: Box[], b: Box[]): number {
  if (a.length === 0 && b.length === 0) return 1;
  const pairs: { i: number; j: number; iou: number }[] = [];
  a.forEach((x, i) => b.forEach((y, j) => pairs.push({ i, j, iou: boxIou(x, y) })));
  pairs.sort((p, q) => q.iou - p.iou || p.i - q.i || p.j - q.j);
  const usedA = new Set<number>();
  const usedB = new Set<number>();
  let sum = 0;
  for (const p of pairs) {
    if (usedA.has(p.i) || usedB.has(p.j) || p.iou <= 0) continue;
    usedA.add(p.i);
    usedB.add(p.j);
    sum += p.iou;
  }
  return sum / Math.max(a.length, b.length);
}

export interface AgreementReport {
  /** Images (matched by file stem) present in both datasets. */
  images: number;
  onlyA: number;
  onlyB: number;
  median: number;
  mean: number;
  min: number;
  /** 10th percentile. */
  p10: number;
  /** Images whose box counts differ. */
  countMismatch: number;
  /** The lowest-scoring images, worst first: [stem, score]. */
  worst: [string, number][];
}

const stemOf = (file: string): string => basename(file, extname(file));

function boxesByStem(ds: CocoDataset): Map<string, Box[]> {
  const out = new Map<string, Box[]>();
  for (const im of ds.images) out.set(stemOf(im.file_name), (ds.annotationsByImage.get(im.id) ?? []).map((a) => a.bbox));
  return out;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Compares the boxes of the images two datasets share (by file stem), ignoring categories. */
export function compareBoxes(a: CocoDataset, b: CocoDataset, worstShown = 5): AgreementReport {
  const A = boxesByStem(a);
  const B = boxesByStem(b);
  const scores: [string, number][] = [];
  let countMismatch = 0;
  for (const [s, boxesA] of [...A].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
    const boxesB = B.get(s);
    if (!boxesB) continue;
    if (boxesA.length !== boxesB.length) countMismatch++;
    scores.push([s, imageAgreement(boxesA, boxesB)]);
  }
  const sorted = scores.map(([, v]) => v).sort((x, y) => x - y);
  return {
    images: scores.length,
    onlyA: [...A.keys()].filter((s) => !B.has(s)).length,
    onlyB: [...B.keys()].filter((s) => !A.has(s)).length,
    median: quantile(sorted, 0.5),
    mean: sorted.reduce((x, y) => x + y, 0) / (sorted.length || 1),
    min: sorted[0] ?? Number.NaN,
    p10: quantile(sorted, 0.1),
    countMismatch,
    worst: [...scores].sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : 1)).slice(0, worstShown),
  };
}

export function formatAgreement(r: AgreementReport): string {
  const f = (v: number): string => v.toFixed(3);
  return [
    `images in both: ${r.images} (only in the first: ${r.onlyA}, only in the second: ${r.onlyB})`,
    `box IoU per image: median ${f(r.median)}, mean ${f(r.mean)}, p10 ${f(r.p10)}, min ${f(r.min)}`,
    `images whose box counts differ: ${r.countMismatch}`,
    `lowest: ${r.worst.map(([s, v]) => `${s} ${f(v)}`).join(", ")}`,
  ].join("\n");
}
