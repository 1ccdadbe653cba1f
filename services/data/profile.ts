/**
 * What a domain looks like, measured: the statistics the synthetic suite is calibrated against
 * (docs/data.md, "Synthetic beside real"). Image statistics are taken at a fixed working size so
 * that a 1920-px frame and a 256-px one are compared on the same footing.
 */
import { join } from "node:path";
import { DataArgumentError } from "./errors.js";
import { sharpFromFile, toRgb } from "./image.js";
import { mapLimit } from "./pool.js";
import { type CocoDataset } from "./types.js";

export interface ProfileOptions {
  /** At most this many images (evenly spaced by index) are decoded. */
  maxImages: number;
  /** Images are resized so their long side is this many pixels before the pixel statistics. */
  workSide: number;
}

export function defaultProfileOptions(): ProfileOptions {
  return { maxImages: 60, workSide: 256 };
}

/** Median and the 10th/90th percentiles of one quantity over a domain. */
export interface Spread {
  p10: number;
  median: number;
  p90: number;
}

export interface DomainProfile {
  name: string;
  images: number;
  /** Images decoded for the pixel statistics. */
  measured: number;
  /** Stored image size. */
  width: Spread;
  height: Spread;
  /** Mean R, G, B (0–255) of the field of view (pixels brighter than the border threshold). */
  meanRgb: [number, number, number];
  /**
   * Each frame's field-of-view G/R and B/R over the measured frames: the light source, the white
   * balance and the colour modes (FICE, BLI, LCI) per frame, which a domain's mean colour hides.
   */
  frameGreenRed: Spread;
  frameBlueRed: Spread;
  /** Mean per-image standard deviation of grey values inside the field of view (contrast). */
  greyStd: number;
  /** Mean HSV saturation (0–1) inside the field of view. */
  saturation: number;
  /** Fraction of near-black pixels (border, scope mask, padding). */
  darkFraction: number;
  /**
   * Sharpness: variance of the 4-neighbour Laplacian of grey (0–255) at the working size, inside
   * the field of view. Blur and heavy JPEG lower it; sensor noise raises it.
   */
  laplacianVar: Spread;
  /** Boxes per image, and the fraction of images without any (negatives). */
  boxesPerImage: Spread & { mean: number; max: number };
  negativeFraction: number;
  /** Box side relative to the image: sqrt(box area / image area). */
  relativeSize: Spread;
  /** Box width / height. */
  aspect: Spread;
  /**
   * Mean R, G, B inside the boxes divided by the mean outside them (field of view only): how a
   * lesion's colour differs from its surroundings. NaN where no measured image has a box.
   */
  lesionRgbRatio: [number, number, number];
  /**
   * How conspicuous the lesions are (medians over the measured images with a box; NaN without
   * any). Each is measured on the image's largest box and, as its "null", on a box of the same
   * size at the point-reflected position, which shows what the mucosa alone gives.
   */
  lesionConspicuity: LesionConspicuity;
}

/** Medians of lesionContrast() over a domain's images, lesion and null box. */
export interface LesionConspicuity {
  images: number;
  cnr: number;
  cnrNull: number;
  redStep: number;
  greenStep: number;
  luminance: number;
  texture: number;
  textureNull: number;
  /** p90 − p10 of the lesions' texture: how much the surfaces vary within the domain. */
  textureSpread: number;
  edge: number;
  edgeNull: number;
}

/**
 * One box against its surroundings: the core is the box's central 60 %, the ring the band of half
 * the box's size around it (field of view only, box excluded).
 */
export interface BoxContrast {
  /** |mean grey of the core − mean grey of the ring| / the ring's grey std. */
  cnr: number;
  /** Chromaticity step core − ring, ×100: r = R/(R+G+B) and g = G/(R+G+B). Real polyps: paler (r down). */
  redStep: number;
  greenStep: number;
  /** Mean grey of the core / of the ring. */
  luminance: number;
  /** ln((Laplacian² of the core + 1) / (of the ring + 1)): how much rougher the surface is. */
  texture: number;
  /** Mean gradient magnitude in the band around the box edge / in the ring: how visible the outline is. */
  edge: number;
}

/** A pixel darker than this (max over channels, 0–255) counts as border, not field of view. */
export const DARK_THRESHOLD = 20;

export function spread(values: number[]): Spread {
  if (values.length === 0) return { p10: Number.NaN, median: Number.NaN, p90: Number.NaN };
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number): number => {
    const pos = q * (s.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return s[lo] + (s[hi] - s[lo]) * (pos - lo);
  };
  return { p10: at(0.1), median: at(0.5), p90: at(0.9) };
}

interface PixelStats {
  rgb: [number, number, number];
  /** Sums of R, G, B and pixel counts inside and outside the boxes (field of view only). */
  inside: [number, number, number, number];
  outside: [number, number, number, number];
  greyStd: number;
  saturation: number;
  dark: number;
  lapVar: number;
}

/** Pixel statistics of one decoded RGB image (8-bit, HWC); boxes in the same pixels. Exported for tests. */
export function pixelStats(data: Uint8Array, width: number, height: number, boxes: [number, number, number, number][] = []): PixelStats {
  const n = width * height;
  const inBox = new Uint8Array(n);
  for (const [bx, by, bw, bh] of boxes) {
    for (let y = Math.max(0, Math.floor(by)); y < Math.min(height, Math.ceil(by + bh)); y++) {
      for (let x = Math.max(0, Math.floor(bx)); x < Math.min(width, Math.ceil(bx + bw)); x++) inBox[y * width + x] = 1;
    }
  }
  const inside: [number, number, number, number] = [0, 0, 0, 0];
  const outside: [number, number, number, number] = [0, 0, 0, 0];
  const grey = new Float32Array(n);
  const fov = new Uint8Array(n);
  let dark = 0;
  let sr = 0;
  let sg = 0;
  let sb = 0;
  let sat = 0;
  let count = 0;
  let sumG = 0;
  let sumG2 = 0;
  for (let i = 0; i < n; i++) {
    const r = data[i * 3];
    const g = data[i * 3 + 1];
    const b = data[i * 3 + 2];
    grey[i] = 0.299 * r + 0.587 * g + 0.114 * b;
    const mx = Math.max(r, g, b);
    if (mx < DARK_THRESHOLD) {
      dark++;
      continue;
    }
    fov[i] = 1;
    const acc = inBox[i] ? inside : outside;
    acc[0] += r;
    acc[1] += g;
    acc[2] += b;
    acc[3]++;
    const mn = Math.min(r, g, b);
    sr += r;
    sg += g;
    sb += b;
    sat += (mx - mn) / mx;
    sumG += grey[i];
    sumG2 += grey[i] * grey[i];
    count++;
  }
  let lapSum = 0;
  let lapSum2 = 0;
  let lapN = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      // Only where the whole stencil sees the field of view: a border edge is not image detail.
      if (!fov[i] || !fov[i - 1] || !fov[i + 1] || !fov[i - width] || !fov[i + width]) continue;
      const l = grey[i - 1] + grey[i + 1] + grey[i - width] + grey[i + width] - 4 * grey[i];
      lapSum += l;
      lapSum2 += l * l;
      lapN++;
    }
  }
  const c = Math.max(1, count);
  const meanG = sumG / c;
  const lapMean = lapSum / Math.max(1, lapN);
  return {
    rgb: [sr / c, sg / c, sb / c],
    inside,
    outside,
    greyStd: Math.sqrt(Math.max(0, sumG2 / c - meanG * meanG)),
    saturation: sat / c,
    dark: dark / n,
    lapVar: lapN > 0 ? lapSum2 / lapN - lapMean * lapMean : 0,
  };
}

/**
 * How one box of an RGB image (8-bit, HWC) stands out from the mucosa around it; null where the core
 * or the ring has fewer than 20 field-of-view pixels. Exported for tests.
 */
export function lesionContrast(data: Uint8Array, width: number, height: number, box: [number, number, number, number]): BoxContrast | null {
  const [x0, y0, bw, bh] = box;
  const x1 = x0 + bw;
  const y1 = y0 + bh;
  const inCore = (x: number, y: number): boolean => x >= x0 + 0.2 * bw && x < x1 - 0.2 * bw && y >= y0 + 0.2 * bh && y < y1 - 0.2 * bh;
  const inBox = (x: number, y: number): boolean => x >= x0 && x < x1 && y >= y0 && y < y1;
  const inRing = (x: number, y: number): boolean => !inBox(x, y) && x >= x0 - 0.5 * bw && x < x1 + 0.5 * bw && y >= y0 - 0.5 * bh && y < y1 + 0.5 * bh;
  const nearEdge = (x: number, y: number): boolean => !inCore(x, y) && x >= x0 - 0.15 * bw && x < x1 + 0.15 * bw && y >= y0 - 0.15 * bh && y < y1 + 0.15 * bh;
  const grey = (i: number): number => 0.299 * data[i * 3] + 0.587 * data[i * 3 + 1] + 0.114 * data[i * 3 + 2];
  const region = () => ({ n: 0, grey: 0, grey2: 0, r: 0, g: 0, lap2: 0, grad: 0 });
  const core = region();
  const ring = region();
  let edgeGrad = 0;
  let edgeN = 0;
  for (let y = Math.max(1, Math.floor(y0 - 0.5 * bh)); y < Math.min(height - 1, Math.ceil(y1 + 0.5 * bh)); y++) {
    for (let x = Math.max(1, Math.floor(x0 - 0.5 * bw)); x < Math.min(width - 1, Math.ceil(x1 + 0.5 * bw)); x++) {
      const i = y * width + x;
      if (Math.max(data[i * 3], data[i * 3 + 1], data[i * 3 + 2]) < DARK_THRESHOLD) continue;
      const gv = grey(i);
      const grad = Math.hypot(grey(i + 1) - grey(i - 1), grey(i + width) - grey(i - width));
      if (nearEdge(x, y)) {
        edgeGrad += grad;
        edgeN++;
      }
      const acc = inCore(x, y) ? core : inRing(x, y) ? ring : null;
      if (!acc) continue;
      const lap = grey(i - 1) + grey(i + 1) + grey(i - width) + grey(i + width) - 4 * gv;
      const sum = data[i * 3] + data[i * 3 + 1] + data[i * 3 + 2] || 1;
      acc.n++;
      acc.grey += gv;
      acc.grey2 += gv * gv;
      acc.r += data[i * 3] / sum;
      acc.g += data[i * 3 + 1] / sum;
      acc.lap2 += lap * lap;
      acc.grad += grad;
    }
  }
  if (core.n < 20 || ring.n < 20) return null;
  const coreGrey = core.grey / core.n;
  const ringGrey = ring.grey / ring.n;
  const ringStd = Math.sqrt(Math.max(0, ring.grey2 / ring.n - ringGrey * ringGrey));
  return {
    cnr: Math.abs(coreGrey - ringGrey) / Math.max(1e-6, ringStd),
    redStep: 100 * (core.r / core.n - ring.r / ring.n),
    greenStep: 100 * (core.g / core.n - ring.g / ring.n),
    luminance: coreGrey / Math.max(1e-6, ringGrey),
    texture: Math.log((core.lap2 / core.n + 1) / (ring.lap2 / ring.n + 1)),
    edge: edgeGrad / Math.max(1, edgeN) / Math.max(1e-6, ring.grad / ring.n),
  };
}

/** The same box moved to the point-reflected position; null where it would overlap the original. */
function reflectedBox([x, y, w, h]: [number, number, number, number], width: number, height: number): [number, number, number, number] | null {
  const rx = width - x - w;
  const ry = height - y - h;
  return Math.abs(rx - x) < w && Math.abs(ry - y) < h ? null : [rx, ry, w, h];
}

function conspicuityOf(lesions: BoxContrast[], nulls: BoxContrast[]): LesionConspicuity {
  const med = (xs: BoxContrast[], k: keyof BoxContrast): number => spread(xs.map((c) => c[k])).median;
  return {
    images: lesions.length,
    cnr: med(lesions, "cnr"),
    cnrNull: med(nulls, "cnr"),
    redStep: med(lesions, "redStep"),
    greenStep: med(lesions, "greenStep"),
    luminance: med(lesions, "luminance"),
    texture: med(lesions, "texture"),
    textureNull: med(nulls, "texture"),
    textureSpread: (({ p10, p90 }) => p90 - p10)(spread(lesions.map((c) => c.texture))),
    edge: med(lesions, "edge"),
    edgeNull: med(nulls, "edge"),
  };
}

/** Measures one domain: object statistics from every record, pixel statistics from a spaced sample. */
export async function profileDataset(name: string, ds: CocoDataset, options: Partial<ProfileOptions> = {}): Promise<DomainProfile> {
  const o = { ...defaultProfileOptions(), ...options };
  if (ds.images.length === 0) throw new DataArgumentError(`dataset ${ds.dir} has no images to profile`);
  const byImage = new Map<number, number>();
  const rel: number[] = [];
  const aspect: number[] = [];
  const sizeOf = new Map(ds.images.map((im) => [im.id, im]));
  for (const a of ds.annotations) {
    if (a.iscrowd) continue;
    byImage.set(a.image_id, (byImage.get(a.image_id) ?? 0) + 1);
    const im = sizeOf.get(a.image_id);
    if (!im) continue;
    rel.push(Math.sqrt((a.bbox[2] * a.bbox[3]) / (im.width * im.height)));
    aspect.push(a.bbox[2] / Math.max(1e-9, a.bbox[3]));
  }
  const counts = ds.images.map((im) => byImage.get(im.id) ?? 0);
  const n = Math.min(o.maxImages, ds.images.length);
  const picks = Array.from({ length: n }, (_, i) => Math.floor((i * ds.images.length) / n));
  const boxesOf = new Map<number, [number, number, number, number][]>();
  for (const a of ds.annotations) if (!a.iscrowd) boxesOf.set(a.image_id, [...(boxesOf.get(a.image_id) ?? []), a.bbox]);
  const stats = await mapLimit(picks, 4, async (idx) => {
    const im = ds.images[idx];
    const path = join(ds.dir, im.file_name);
    const img = await toRgb((await sharpFromFile(path)).resize(o.workSide, o.workSide, { fit: "inside" }), path);
    const sx = img.width / im.width;
    const sy = img.height / im.height;
    const boxes = (boxesOf.get(im.id) ?? []).map(([x, y, w, h]): [number, number, number, number] => [x * sx, y * sy, w * sx, h * sy]);
    const largest = boxes.reduce<[number, number, number, number] | null>((best, b) => (!best || b[2] * b[3] > best[2] * best[3] ? b : best), null);
    const reflected = largest && reflectedBox(largest, img.width, img.height);
    return {
      ...pixelStats(img.data, img.width, img.height, boxes),
      lesion: largest && lesionContrast(img.data, img.width, img.height, largest),
      null: reflected && lesionContrast(img.data, img.width, img.height, reflected),
    };
  });
  const present = <T>(xs: (T | null)[]): T[] => xs.filter((x): x is T => x !== null);
  const sumOf = (pick: (s: PixelStats) => number[]): number[] => stats.reduce((acc, s) => acc.map((v, k) => v + pick(s)[k]), [0, 0, 0, 0]);
  const ins = sumOf((s) => s.inside);
  const outs = sumOf((s) => s.outside);
  const ratio = (k: number): number => (ins[3] > 0 && outs[3] > 0 ? ins[k] / ins[3] / (outs[k] / outs[3]) : Number.NaN);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  // A frame's colour ratios need some red in its field of view (an all-dark frame has none).
  const lit = stats.filter((s) => s.rgb[0] > 0);
  return {
    name,
    images: ds.images.length,
    measured: stats.length,
    width: spread(ds.images.map((im) => im.width)),
    height: spread(ds.images.map((im) => im.height)),
    meanRgb: [mean(stats.map((s) => s.rgb[0])), mean(stats.map((s) => s.rgb[1])), mean(stats.map((s) => s.rgb[2]))],
    frameGreenRed: spread(lit.map((s) => s.rgb[1] / s.rgb[0])),
    frameBlueRed: spread(lit.map((s) => s.rgb[2] / s.rgb[0])),
    greyStd: mean(stats.map((s) => s.greyStd)),
    saturation: mean(stats.map((s) => s.saturation)),
    darkFraction: mean(stats.map((s) => s.dark)),
    laplacianVar: spread(stats.map((s) => s.lapVar)),
    boxesPerImage: { ...spread(counts), mean: mean(counts), max: Math.max(...counts) },
    negativeFraction: counts.filter((c) => c === 0).length / counts.length,
    relativeSize: spread(rel),
    aspect: spread(aspect),
    lesionRgbRatio: [ratio(0), ratio(1), ratio(2)],
    lesionConspicuity: conspicuityOf(present(stats.map((s) => s.lesion)), present(stats.map((s) => s.null))),
  };
}

const f1 = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : "–");
const f2 = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : "–");

/** A Markdown table: one row per profile. */
export function profilesMarkdown(profiles: DomainProfile[]): string {
  const head =
    "| domain | images | size (median) | mean RGB | frame G/R, B/R (p10/med/p90) | grey std | saturation | dark px | Laplacian var (p10/med/p90) | boxes/img (mean, max) | negatives | box side / image (p10/med/p90) | aspect (med) | lesion / surround RGB |";
  const sep = "|---|---:|---|---|---|---:|---:|---:|---|---|---:|---|---:|---|";
  const rows = profiles.map(
    (p) =>
      `| ${p.name} | ${p.images} | ${Math.round(p.width.median)}×${Math.round(p.height.median)} | ${p.meanRgb.map((v) => Math.round(v)).join(", ")} | ${[p.frameGreenRed, p.frameBlueRed].map((r) => [r.p10, r.median, r.p90].map(f2).join("/")).join(", ")} | ${f1(p.greyStd)} | ${f2(p.saturation)} | ${f2(p.darkFraction)} | ${[p.laplacianVar.p10, p.laplacianVar.median, p.laplacianVar.p90].map(f1).join(" / ")} | ${f2(p.boxesPerImage.mean)}, ${p.boxesPerImage.max} | ${f2(p.negativeFraction)} | ${[p.relativeSize.p10, p.relativeSize.median, p.relativeSize.p90].map(f2).join(" / ")} | ${f2(p.aspect.median)} | ${p.lesionRgbRatio.map(f2).join(", ")} |`,
  );
  return [head, sep, ...rows].join("\n");
}

/** A Markdown table of the lesions' conspicuity: one row per profile, each beside its null box where it has one. */
export function conspicuityMarkdown(profiles: DomainProfile[]): string {
  const head = "| domain | images | CNR (null) | red step | green step | luminance | texture (null) | texture p10–p90 width | edge (null) |";
  const sep = "|---|---:|---:|---:|---:|---:|---:|---:|---:|";
  const rows = profiles.map((p) => {
    const c = p.lesionConspicuity;
    return `| ${p.name} | ${c.images} | ${f2(c.cnr)} (${f2(c.cnrNull)}) | ${f2(c.redStep)} | ${f2(c.greenStep)} | ${f2(c.luminance)} | ${f2(c.texture)} (${f2(c.textureNull)}) | ${f2(c.textureSpread)} | ${f2(c.edge)} (${f2(c.edgeNull)}) |`;
  });
  return [head, sep, ...rows].join("\n");
}

/** The points of the calibration figure: one panel per kind of shift, groups from "group/name" profile names. */
export function profilePanels(profiles: DomainProfile[]): { title: string; xLabel: string; yLabel: string; logX?: boolean; points: { x: number; y: number; label: string; group: string }[] }[] {
  const split = (name: string): { group: string; label: string } => {
    const i = name.indexOf("/");
    return i > 0 ? { group: name.slice(0, i), label: name.slice(i + 1) } : { group: "domains", label: name };
  };
  const pts = (f: (p: DomainProfile) => [number, number]) =>
    profiles.map((p) => {
      const [x, y] = f(p);
      return { x, y, ...split(p.name) };
    });
  return [
    { title: "colour of the field of view", xLabel: "mean R (0-255)", yLabel: "mean G (0-255)", points: pts((p) => [p.meanRgb[0], p.meanRgb[1]]) },
    { title: "sharpness and contrast", xLabel: "Laplacian variance, median", yLabel: "grey std", logX: true, points: pts((p) => [p.laplacianVar.median, p.greyStd]) },
    { title: "objects", xLabel: "box side / image side, median", yLabel: "boxes per image, mean", points: pts((p) => [p.relativeSize.median, p.boxesPerImage.mean]) },
  ];
}
