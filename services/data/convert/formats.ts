import { existsSync, readFileSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { XMLParser } from "fast-xml-parser";
import { DataArgumentError, DataNotFoundError } from "../errors.js";
import { decodeImage, readImageSize } from "../image.js";
import { type PromptParts } from "../types.js";
import { componentBoxes } from "./components.js";
import { clipBox, listImages, stem, summarizeIds, writeConverted, type ConvertReport, type ConvertedImage, type PromptMap } from "./common.js";

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
  /**
   * Boxes smaller than this many pixels of the image file (after scaling) are dropped: the official
   * JSON was made from the full-size masks and keeps their JPEG specks as boxes (e.g. 0.7x1.8 px
   * at 256x256). Default 0 (keep all); the CLI passes its --min-area.
   */
  minArea?: number;
}

type KvasirRecord = { height: number; width: number; bbox: { label: string; xmin: number; ymin: number; xmax: number; ymax: number }[] };

/** How a file's size relates to the size its JSON record states. */
export type SizeRelation = "same" | "uniform" | "anisotropic" | "rotated";

/**
 * `uniform`: the file is the JSON size scaled by one factor, up to the rounding of a resize
 * (|sx - sy| <= 1/w + 1/h); `rotated`: width and height swapped (scaling would misplace every box);
 * `anisotropic`: anything else.
 */
export function sizeRelation(json: { width: number; height: number }, file: { width: number; height: number }): SizeRelation {
  if (json.width === file.width && json.height === file.height) return "same";
  if (json.width !== json.height && json.width === file.height && json.height === file.width) return "rotated";
  const sx = file.width / json.width;
  const sy = file.height / json.height;
  return Math.abs(sx - sy) <= 1 / json.width + 1 / json.height ? "uniform" : "anisotropic";
}

/**
 * Kvasir-SEG: `{id: {height, width, bbox: [{label, xmin, ymin, xmax, ymax}]}}`, boxes in pixels of the
 * original image whose size the record states. Published copies are often resized, so each box is
 * scaled from the record's size to the file's size. Accepted size differences: a resize that keeps
 * the aspect (up to rounding), and a resize of the whole set to one fixed size (every file
 * 256x256: the aspect changes, by a known factor per image). Anything else (a rotated file, an
 * aspect change in a set whose files are not all one size) is refused: scaling could not be
 * trusted to put the boxes where the lesions are.
 */
export async function convertKvasir(o: KvasirOptions): Promise<ConvertReport> {
  if (!existsSync(o.bboxes)) throw new DataNotFoundError(o.bboxes, "Kvasir-SEG bbox file (kavsir_bboxes.json)");
  let raw: Record<string, KvasirRecord>;
  try {
    raw = JSON.parse(readFileSync(o.bboxes, "utf8"));
  } catch (err) {
    throw new DataArgumentError(`${o.bboxes}: not valid JSON (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new DataArgumentError(`${o.bboxes}: expected an object {id: {height, width, bbox: [...]}}`);
  const files = listImages(o.images);
  const skipped: string[] = [];
  const missing: string[] = [];
  const found: { id: string; rec: KvasirRecord; src: string; size: { width: number; height: number }; rel: SizeRelation }[] = [];
  for (const id of Object.keys(raw).sort()) {
    const rec = raw[id];
    if (!(rec?.width > 0) || !(rec?.height > 0)) throw new DataArgumentError(`${o.bboxes}: record ${id}: width and height must be positive numbers (the original image's size)`, { details: { file: o.bboxes, record: id } });
    const src = files.get(id);
    if (!src) {
      missing.push(id);
      continue;
    }
    const size = await readImageSize(src);
    found.push({ id, rec, src, size, rel: sizeRelation(rec, size) });
  }
  if (missing.length > 0) skipped.push(`${summarizeIds(missing)} in ${basename(o.bboxes)} have no image in ${o.images}`);
  const rotated = found.filter((f) => f.rel === "rotated");
  const aniso = found.filter((f) => f.rel === "anisotropic");
  // An aspect change is explained only by a resize of the whole set to one size: then every file has it.
  const fileSizes = new Set(found.map((f) => `${f.size.width}x${f.size.height}`));
  if (rotated.length > 0 || (aniso.length > 0 && fileSizes.size > 1)) {
    const bad = rotated.length > 0 ? rotated : aniso;
    const shown = bad.slice(0, 5).map((f) => `${f.id} (json ${f.rec.width}x${f.rec.height}, file ${f.size.width}x${f.size.height})`);
    const why =
      rotated.length > 0
        ? "width and height are swapped (a rotated file?)"
        : `their aspect differs from the JSON's, and the files are not all one size (${fileSizes.size} sizes), so no single resize of the set explains them`;
    throw new DataArgumentError(
      `${o.bboxes}: ${bad.length} image(s) have a size the boxes cannot be scaled to: ${why}; e.g. ${shown.join("; ")}. Use the original images, or a copy resized uniformly or to one fixed size.`,
      { details: { file: o.bboxes, images: bad.length } },
    );
  }
  const images: ConvertedImage[] = [];
  let scaled = 0;
  const tiny: string[] = [];
  for (const { id, rec, src, size, rel } of found) {
    const sx = size.width / rec.width;
    const sy = size.height / rec.height;
    if (rel !== "same") scaled++;
    const boxes = [];
    for (const b of rec.bbox ?? []) {
      const c = clipBox([b.xmin * sx, b.ymin * sy, (b.xmax - b.xmin) * sx, (b.ymax - b.ymin) * sy], size.width, size.height);
      if (!c) skipped.push(`${id}: box ${JSON.stringify(b)} has no area inside the image`);
      else if (c[2] * c[3] < (o.minArea ?? 0)) tiny.push(id);
      else boxes.push({ bbox: c, category: b.label || "polyp" });
    }
    images.push({ src, width: size.width, height: size.height, boxes });
  }
  const notes: string[] = [];
  if (scaled > 0) {
    const how = aniso.length > 0 ? `${aniso.length} of them resized to one fixed size ${[...fileSizes][0]} (aspect not kept), ${scaled - aniso.length} uniformly` : "each resized uniformly";
    notes.push(`scaled boxes from the JSON's original sizes to the image files' sizes for ${scaled} of ${found.length} images (${how})`);
  }
  if (tiny.length > 0) notes.push(`dropped ${tiny.length} box(es) smaller than ${o.minArea} px after scaling (mask specks in the box file), in ${summarizeIds([...new Set(tiny)])}`);
  return writeConverted(o.out, images, [], o.prompts ?? {}, skipped, notes);
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

/**
 * A folder of binary masks (CVC-ClinicDB, ETIS, Kvasir): one box per 8-connected component of the
 * pixels whose value (max over channels) is >= the threshold. Several components are several
 * lesions (Kvasir-SEG's own box file does the same); components under `minArea` pixels are JPEG
 * specks at the mask's edges and are dropped (counted in a note).
 */
export async function convertMasks(o: MaskOptions): Promise<ConvertReport> {
  const imgs = listImages(o.images);
  const masks = listImages(o.masks);
  const thr = o.threshold ?? 128;
  if (!Number.isFinite(thr) || thr < 1 || thr > 255) throw new DataArgumentError(`--threshold must be a number from 1 to 255, got ${thr}`);
  const images: ConvertedImage[] = [];
  const skipped: string[] = [];
  const stats = { dropped: 0 };
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
    for (const b of componentBoxes(bin, m.width, m.height, o.minArea, stats)) {
      const c = clipBox(rescale(b, sx, sy), size.width, size.height);
      if (c) boxes.push({ bbox: c, category: o.category });
    }
    images.push({ src, width: size.width, height: size.height, boxes });
  }
  const notes = stats.dropped > 0 ? [`dropped ${stats.dropped} mask component(s) smaller than ${o.minArea} px (JPEG specks)`] : [];
  return writeConverted(o.out, images, [o.category], o.prompts ?? {}, skipped, notes);
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
  /**
   * Objects marked `<difficult>1</difficult>`: "crowd" (default) writes them with COCO iscrowd = 1,
   * which is what VOC's own evaluation does with them: a detection on one is neither a true nor a
   * false positive, and it is not a positive for training (the loader skips crowd boxes).
   * "keep" makes them ordinary boxes; "drop" leaves them out (a detection there is then a false positive).
   */
  difficult?: VocDifficult;
}

export const VOC_DIFFICULT = ["crowd", "keep", "drop"] as const;
export type VocDifficult = (typeof VOC_DIFFICULT)[number];

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
  let crowd = 0;
  let droppedDifficult = 0;
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
      const difficult = Number(obj.difficult) === 1;
      if (difficult && o.difficult === "drop") {
        droppedDifficult++;
        continue;
      }
      if (o.classes && !o.classes.includes(cls)) {
        skipped.push(`${name}: class "${cls}" is not in --classes`);
        continue;
      }
      const [xmin, ymin, xmax, ymax] = [bb.xmin, bb.ymin, bb.xmax, bb.ymax].map(Number);
      if (![xmin, ymin, xmax, ymax].every(Number.isFinite)) {
        skipped.push(`${name}: box of "${cls}" has a non-numeric corner (${JSON.stringify(bb)})`);
        continue;
      }
      // A point (xmin = xmax and ymin = ymax) is a stray click, not an object: BCCD has two.
      if (xmax <= xmin && ymax <= ymin) {
        skipped.push(`${name}: box of "${cls}" is a single point (${xmin},${ymin}); dropped`);
        continue;
      }
      if (xmax < xmin || ymax < ymin) {
        skipped.push(`${name}: box of "${cls}" has xmax < xmin or ymax < ymin (${JSON.stringify(bb)}); dropped`);
        continue;
      }
      // Corners on the border (xmin = 1 or xmax = width) are objects cut by the frame: clipping keeps them whole inside it.
      const c = clipBox([xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1], size.width, size.height);
      if (!c) {
        skipped.push(`${name}: box of "${cls}" has no area inside the image`);
        continue;
      }
      if (difficult && o.difficult !== "keep") crowd++;
      boxes.push({ bbox: c, category: cls, crowd: difficult && o.difficult !== "keep" });
    }
    images.push({ src, width: size.width, height: size.height, boxes });
  }
  const notes: string[] = [];
  if (crowd > 0) notes.push(`${crowd} object(s) marked difficult written with iscrowd = 1 (ignored by training and by COCO evaluation)`);
  if (droppedDifficult > 0) notes.push(`${droppedDifficult} object(s) marked difficult left out (--difficult drop)`);
  return writeConverted(o.out, images, o.classes ?? [], o.prompts ?? {}, skipped, notes);
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

