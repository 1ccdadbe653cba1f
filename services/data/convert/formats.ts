import { existsSync, readFileSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { XMLParser } from "fast-xml-parser";
import { DataArgumentError, DataNotFoundError } from "../errors.js";
import { decodeImage, readImageSize } from "../image.js";
import { type PromptParts } from "../types.js";
import { componentBoxes } from "./components.js";
import { clipBox, listImages, stem, writeConverted, type ConvertReport, type ConvertedImage, type PromptMap } from "./common.js";

export interface CommonConvertOptions {
  out: string;
  /** Prompt parts per category name. */
  prompts?: PromptMap;
}

// ---------------------------------------------------------------- Kvasir-SEG kavsir_bboxes.json

export interface KvasirOptions extends CommonConvertOptions {
  /** Path to kavsir_bboxes.json. */
  bboxes: string;
  /** Folder with <id>.jpg images. */
  images: string;
}

/** Kvasir-SEG: `{id: {height, width, bbox: [{label, xmin, ymin, xmax, ymax}]}}`. */
export async function convertKvasir(o: KvasirOptions): Promise<ConvertReport> {
  if (!existsSync(o.bboxes)) throw new DataNotFoundError(o.bboxes, "Kvasir-SEG bbox file (kavsir_bboxes.json)");
  let raw: Record<string, { height: number; width: number; bbox: { label: string; xmin: number; ymin: number; xmax: number; ymax: number }[] }>;
  try {
    raw = JSON.parse(readFileSync(o.bboxes, "utf8"));
  } catch (err) {
    throw new DataArgumentError(`${o.bboxes}: not valid JSON (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  const files = listImages(o.images);
  const images: ConvertedImage[] = [];
  const skipped: string[] = [];
  for (const id of Object.keys(raw).sort()) {
    const rec = raw[id];
    const src = files.get(id);
    if (!src) {
      skipped.push(`${id}: no image ${id}.* in ${o.images}`);
      continue;
    }
    const size = await readImageSize(src);
    if (size.width !== rec.width || size.height !== rec.height) skipped.push(`${id}: json says ${rec.width}x${rec.height}, file is ${size.width}x${size.height} (file size used)`);
    const boxes = [];
    for (const b of rec.bbox ?? []) {
      const c = clipBox([b.xmin, b.ymin, b.xmax - b.xmin, b.ymax - b.ymin], size.width, size.height);
      if (c) boxes.push({ bbox: c, category: b.label || "polyp" });
      else skipped.push(`${id}: box ${JSON.stringify(b)} has no area inside the image`);
    }
    images.push({ src, width: size.width, height: size.height, boxes });
  }
  return writeConverted(o.out, images, [], o.prompts ?? {}, skipped);
}

// ---------------------------------------------------------------- binary masks

export interface MaskOptions extends CommonConvertOptions {
  images: string;
  masks: string;
  /** Components smaller than this many pixels are noise (JPEG masks) and dropped. */
  minArea: number;
  category: string;
  /** Mask pixel (max over channels) above this is foreground. */
  threshold?: number;
  /** Mask file stem = image stem + this suffix (e.g. "_mask"); tried after the plain stem. */
  maskSuffix?: string;
}

function findMask(masks: Map<string, string>, imageStem: string, suffix?: string): string | undefined {
  return masks.get(imageStem) ?? (suffix ? masks.get(`${imageStem}${suffix}`) : undefined) ?? masks.get(`${imageStem}_mask`) ?? masks.get(`${imageStem}_segmentation`);
}

/** Scales mask-space boxes into image space when a mask was saved at another size. */
function rescale(b: [number, number, number, number], sx: number, sy: number): [number, number, number, number] {
  return [b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy];
}

/** A folder of binary masks (CVC-ClinicDB, ETIS, Kvasir): one box per connected component. */
export async function convertMasks(o: MaskOptions): Promise<ConvertReport> {
  const imgs = listImages(o.images);
  const masks = listImages(o.masks);
  const thr = o.threshold ?? 128;
  const images: ConvertedImage[] = [];
  const skipped: string[] = [];
  for (const [s, src] of imgs) {
    const mp = findMask(masks, s, o.maskSuffix);
    if (!mp) {
      skipped.push(`${basename(src)}: no mask named ${s}.* in ${o.masks}`);
      continue;
    }
    const size = await readImageSize(src);
    const m = await decodeImage(mp);
    const bin = new Uint8Array(m.width * m.height);
    for (let i = 0; i < bin.length; i++) bin[i] = Math.max(m.data[i * 3], m.data[i * 3 + 1], m.data[i * 3 + 2]) >= thr ? 1 : 0;
    const sx = size.width / m.width;
    const sy = size.height / m.height;
    const boxes = [];
    for (const b of componentBoxes(bin, m.width, m.height, o.minArea)) {
      const c = clipBox(rescale(b, sx, sy), size.width, size.height);
      if (c) boxes.push({ bbox: c, category: o.category });
    }
    images.push({ src, width: size.width, height: size.height, boxes });
  }
  return writeConverted(o.out, images, [o.category], o.prompts ?? {}, skipped);
}

// ---------------------------------------------------------------- RGB class masks (BKAI)

export interface ColorClass {
  color: [number, number, number];
  name: string;
}

/** BKAI-IGH NeoPolyp: red marks neoplastic, green non-neoplastic polyps. */
export const BKAI_CLASSES: ColorClass[] = [
  { color: [255, 0, 0], name: "neoplastic polyp" },
  { color: [0, 255, 0], name: "non-neoplastic polyp" },
];

export interface RgbMaskOptions extends CommonConvertOptions {
  images: string;
  masks: string;
  minArea: number;
  classes?: ColorClass[];
  maskSuffix?: string;
}

/** Parses "255,0,0=neoplastic polyp;0,255,0=non-neoplastic polyp". */
export function parseColorClasses(spec: string): ColorClass[] {
  return spec.split(";").filter((s) => s.trim() !== "").map((part) => {
    const [rgb, name] = part.split("=");
    const color = (rgb ?? "").split(",").map((v) => Number(v.trim()));
    if (color.length !== 3 || color.some((v) => !Number.isInteger(v) || v < 0 || v > 255) || !name?.trim()) {
      throw new DataArgumentError(`--classes: "${part}" is not R,G,B=name (e.g. "255,0,0=neoplastic polyp")`);
    }
    return { color: color as [number, number, number], name: name.trim() };
  });
}

/** RGB class masks: each pixel goes to the nearest class colour (or background if black is nearer). */
export async function convertRgbMasks(o: RgbMaskOptions): Promise<ConvertReport> {
  const classes = o.classes ?? BKAI_CLASSES;
  const imgs = listImages(o.images);
  const masks = listImages(o.masks);
  const images: ConvertedImage[] = [];
  const skipped: string[] = [];
  for (const [s, src] of imgs) {
    const mp = findMask(masks, s, o.maskSuffix);
    if (!mp) {
      skipped.push(`${basename(src)}: no mask named ${s}.* in ${o.masks}`);
      continue;
    }
    const size = await readImageSize(src);
    const m = await decodeImage(mp);
    const n = m.width * m.height;
    const which = new Int8Array(n).fill(-1);
    for (let i = 0; i < n; i++) {
      const r = m.data[i * 3];
      const g = m.data[i * 3 + 1];
      const b = m.data[i * 3 + 2];
      let best = -1;
      let bestD = r * r + g * g + b * b;
      classes.forEach((c, k) => {
        const d = (r - c.color[0]) ** 2 + (g - c.color[1]) ** 2 + (b - c.color[2]) ** 2;
        if (d < bestD) {
          bestD = d;
          best = k;
        }
      });
      which[i] = best;
    }
    const boxes = [];
    for (const [k, c] of classes.entries()) {
      const bin = new Uint8Array(n);
      for (let i = 0; i < n; i++) bin[i] = which[i] === k ? 1 : 0;
      for (const b of componentBoxes(bin, m.width, m.height, o.minArea)) {
        const cb = clipBox(rescale(b, size.width / m.width, size.height / m.height), size.width, size.height);
        if (cb) boxes.push({ bbox: cb, category: c.name });
      }
    }
    images.push({ src, width: size.width, height: size.height, boxes });
  }
  return writeConverted(o.out, images, classes.map((c) => c.name), o.prompts ?? {}, skipped);
}

// ---------------------------------------------------------------- Pascal VOC XML (BCCD)

export interface VocOptions extends CommonConvertOptions {
  /** Folder of .xml files. */
  annotations: string;
  images: string;
  /** Category order; default: names in the XML, sorted. */
  classes?: string[];
  /** Keep objects marked difficult (default true). */
  keepDifficult?: boolean;
}

function asArray<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Pascal VOC XML. VOC corners are 1-based inclusive, so x = xmin - 1 and w = xmax - xmin + 1. */
export async function convertVoc(o: VocOptions): Promise<ConvertReport> {
  if (!existsSync(o.annotations)) throw new DataNotFoundError(o.annotations, "VOC annotation folder");
  const imgs = listImages(o.images);
  const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: true });
  const images: ConvertedImage[] = [];
  const skipped: string[] = [];
  for (const name of readdirSync(o.annotations).filter((f) => f.toLowerCase().endsWith(".xml")).sort()) {
    const xmlPath = join(o.annotations, name);
    const doc = parser.parse(readFileSync(xmlPath, "utf8")) as { annotation?: { filename?: string; object?: unknown } };
    const ann = doc.annotation;
    if (!ann) {
      skipped.push(`${name}: no <annotation> element`);
      continue;
    }
    const fname = String(ann.filename ?? stem(name));
    const src = imgs.get(stem(fname)) ?? imgs.get(stem(name));
    if (!src) {
      skipped.push(`${name}: image ${fname} not found in ${o.images}`);
      continue;
    }
    const size = await readImageSize(src);
    const boxes = [];
    for (const obj of asArray(ann.object as Record<string, unknown> | Record<string, unknown>[])) {
      const cls = String(obj.name ?? "").trim();
      const bb = obj.bndbox as Record<string, number> | undefined;
      if (!cls || !bb) {
        skipped.push(`${name}: an object without name or bndbox`);
        continue;
      }
      if (o.keepDifficult === false && Number(obj.difficult) === 1) continue;
      if (o.classes && !o.classes.includes(cls)) {
        skipped.push(`${name}: class "${cls}" is not in --classes`);
        continue;
      }
      const x1 = Number(bb.xmin) - 1;
      const y1 = Number(bb.ymin) - 1;
      const c = clipBox([x1, y1, Number(bb.xmax) - x1, Number(bb.ymax) - y1], size.width, size.height);
      if (c) boxes.push({ bbox: c, category: cls });
      else skipped.push(`${name}: box of "${cls}" has no area inside the image`);
    }
    images.push({ src, width: size.width, height: size.height, boxes });
  }
  return writeConverted(o.out, images, o.classes ?? [], o.prompts ?? {}, skipped);
}

// ---------------------------------------------------------------- YOLO txt

export interface YoloOptions extends CommonConvertOptions {
  images: string;
  labels: string;
  /** Class names in index order. */
  classes: string[];
}

/** Reads class names from classes.txt / obj.names (one per line). */
export function readClassNames(path: string): string[] {
  if (!existsSync(path)) throw new DataNotFoundError(path, "class names file");
  return readFileSync(path, "utf8").split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== "");
}

/** YOLO: labels/<stem>.txt with "class cx cy w h" normalized to [0,1]. */
export async function convertYolo(o: YoloOptions): Promise<ConvertReport> {
  if (o.classes.length === 0) throw new DataArgumentError("YOLO needs class names: pass --classes a,b,c or a classes.txt file");
  const imgs = listImages(o.images);
  const images: ConvertedImage[] = [];
  const skipped: string[] = [];
  for (const [s, src] of imgs) {
    const size = await readImageSize(src);
    const lp = join(o.labels, `${s}.txt`);
    const boxes = [];
    if (existsSync(lp)) {
      for (const [ln, line] of readFileSync(lp, "utf8").split(/\r?\n/).entries()) {
        if (line.trim() === "") continue;
        const v = line.trim().split(/\s+/).map(Number);
        const cls = v[0];
        if (v.length < 5 || v.some((x) => !Number.isFinite(x)) || !Number.isInteger(cls) || cls < 0 || cls >= o.classes.length) {
          skipped.push(`${basename(lp)}:${ln + 1}: "${line.trim()}" is not "class cx cy w h" with a known class`);
          continue;
        }
        const [, cx, cy, w, h] = v;
        const c = clipBox([(cx - w / 2) * size.width, (cy - h / 2) * size.height, w * size.width, h * size.height], size.width, size.height);
        if (c) boxes.push({ bbox: c, category: o.classes[cls] });
        else skipped.push(`${basename(lp)}:${ln + 1}: box has no area inside the image`);
      }
    } else {
      // YOLO convention: an image without a label file has no objects.
      skipped.push(`${basename(src)}: no ${s}.txt; kept as an image without objects`);
    }
    images.push({ src, width: size.width, height: size.height, boxes });
  }
  return writeConverted(o.out, images, o.classes, o.prompts ?? {}, skipped);
}

/** One prompt from CLI flags for a single-category converter. */
export function singlePrompt(category: string, parts: Partial<PromptParts>): PromptMap {
  const defined = Object.fromEntries(Object.entries(parts).filter(([, v]) => v !== undefined));
  return Object.keys(defined).length > 0 ? { [category]: defined } : {};
}

