import { existsSync, readFileSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { XMLParser } from "fast-xml-parser";
import { parse as parseYaml } from "yaml";
import { DataArgumentError, DataNotFoundError } from "../errors.js";
import { decodeImage, readImageSize } from "../image.js";
import { type PromptParts } from "../types.js";
import { componentBoxes } from "./components.js";
import {
  clipBox,
  folderList,
  listImages,
  stem,
  summarizeIds,
  writeConverted,
  type CommonConvertOptions,
  type ConvertReport,
  type ConvertedBox,
  type ConvertedImage,
  type Folders,
  type PromptMap,
} from "./common.js";

export type { CommonConvertOptions } from "./common.js";

// ---------------------------------------------------------------- declared vs file sizes

/** How a file's size relates to the size its label file states. */
export type SizeRelation = "same" | "uniform" | "anisotropic" | "rotated";

/**
 * `uniform`: the file is the declared size scaled by one factor, up to the rounding of a resize
 * (|sx - sy| <= 1/w + 1/h); `rotated`: width and height swapped (scaling would misplace every box);
 * `anisotropic`: anything else.
 */
export function sizeRelation(declared: { width: number; height: number }, file: { width: number; height: number }): SizeRelation {
  if (declared.width === file.width && declared.height === file.height) return "same";
  if (declared.width !== declared.height && declared.width === file.height && declared.height === file.width) return "rotated";
  const sx = file.width / declared.width;
  const sy = file.height / declared.height;
  return Math.abs(sx - sy) <= 1 / declared.width + 1 / declared.height ? "uniform" : "anisotropic";
}

interface SizedRecord {
  id: string;
  declared: { width: number; height: number };
  file: { width: number; height: number };
}

/**
 * Checks that boxes stated in pixels of a declared (original) size can be scaled to the files:
 * the same size, a resize that keeps the aspect (up to rounding), or a resize of the whole set to
 * one fixed size (the aspect changes by a known factor per image). A rotated file, or an aspect
 * change in a set whose files are not all one size, is refused: scaling could not be trusted to
 * put the boxes where the lesions are. Returns the note that says what was scaled, if anything.
 */
function checkDeclaredSizes(found: SizedRecord[], labelFile: string, source: "json" | "xml"): string | undefined {
  const rel = found.map((f) => sizeRelation(f.declared, f.file));
  const rotated = found.filter((_, i) => rel[i] === "rotated");
  const aniso = found.filter((_, i) => rel[i] === "anisotropic");
  // An aspect change is explained only by a resize of the whole set to one size: then every file has it.
  const fileSizes = new Set(found.map((f) => `${f.file.width}x${f.file.height}`));
  if (rotated.length > 0 || (aniso.length > 0 && fileSizes.size > 1)) {
    const bad = rotated.length > 0 ? rotated : aniso;
    const shown = bad.slice(0, 5).map((f) => `${f.id} (${source} ${f.declared.width}x${f.declared.height}, file ${f.file.width}x${f.file.height})`);
    const why =
      rotated.length > 0
        ? "width and height are swapped (a rotated file?)"
        : `their aspect differs from the ${source.toUpperCase()}'s, and the files are not all one size (${fileSizes.size} sizes), so no single resize of the set explains them`;
    throw new DataArgumentError(
      `${labelFile}: ${bad.length} image(s) have a size the boxes cannot be scaled to: ${why}; e.g. ${shown.join("; ")}. Use the original images, or a copy resized uniformly or to one fixed size.`,
      { details: { file: labelFile, images: bad.length } },
    );
  }
  const scaled = rel.filter((r) => r !== "same").length;
  if (scaled === 0) return undefined;
  const how = aniso.length > 0 ? `${aniso.length} of them resized to one fixed size ${[...fileSizes][0]} (aspect not kept), ${scaled - aniso.length} uniformly` : "each resized uniformly";
  const from = source === "json" ? "the JSON's original sizes" : "the XML <size> (the original image's size)";
  return `scaled boxes from ${from} to the image files' sizes for ${scaled} of ${found.length} images (${how})`;
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

/**
 * Kvasir-SEG: `{id: {height, width, bbox: [{label, xmin, ymin, xmax, ymax}]}}`, boxes in pixels of the
 * original image whose size the record states. Published copies are often resized, so each box is
 * scaled from the record's size to the file's size (checkDeclaredSizes says which differences are
 * accepted).
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
  const found: (SizedRecord & { rec: KvasirRecord; src: string })[] = [];
  for (const id of Object.keys(raw).sort()) {
    const rec = raw[id];
    if (!(rec?.width > 0) || !(rec?.height > 0)) throw new DataArgumentError(`${o.bboxes}: record ${id}: width and height must be positive numbers (the original image's size)`, { details: { file: o.bboxes, record: id } });
    const src = files.get(id);
    if (!src) {
      missing.push(id);
      continue;
    }
    found.push({ id, rec, src, declared: rec, file: await readImageSize(src) });
  }
  if (missing.length > 0) skipped.push(`${summarizeIds(missing)} in ${basename(o.bboxes)} have no image in ${o.images}`);
  const scaledNote = checkDeclaredSizes(found, o.bboxes, "json");
  const images: ConvertedImage[] = [];
  const tiny: string[] = [];
  for (const { id, rec, src, file } of found) {
    const sx = file.width / rec.width;
    const sy = file.height / rec.height;
    const boxes = [];
    for (const b of rec.bbox ?? []) {
      const c = clipBox([b.xmin * sx, b.ymin * sy, (b.xmax - b.xmin) * sx, (b.ymax - b.ymin) * sy], file.width, file.height);
      if (!c) skipped.push(`${id}: box ${JSON.stringify(b)} has no area inside the image`);
      else if (c[2] * c[3] < (o.minArea ?? 0)) tiny.push(id);
      else boxes.push({ bbox: c, category: b.label || "polyp" });
    }
    images.push({ src, width: file.width, height: file.height, boxes });
  }
  const notes = scaledNote ? [scaledNote] : [];
  if (tiny.length > 0) notes.push(`dropped ${tiny.length} box(es) smaller than ${o.minArea} px after scaling (mask specks in the box file), in ${summarizeIds([...new Set(tiny)])}`);
  return writeConverted(images, o, { categoryOrder: [], skipped, notes });
}

// ---------------------------------------------------------------- binary masks

/** What one box stands for: each 8-connected component of a mask, or each mask file (all its components). */
export const MASK_OBJECTS = ["component", "mask"] as const;
export type MaskObjects = (typeof MASK_OBJECTS)[number];

export interface MaskOptions extends CommonConvertOptions {
  images: Folders;
  masks: Folders;
  /** Components smaller than this many pixels are noise (JPEG masks) and dropped. */
  minArea: number;
  category: string;
  /** Mask pixel (max over channels) at or above this is foreground. */
  threshold?: number;
  /** Mask file stem = image stem + this suffix (e.g. "_mask", PH2's "_lesion"); tried first. */
  maskSuffix?: string;
  /** Mask file stem = this prefix + image stem (+ suffix), e.g. "p" for CVC-ColonDB's pN.tiff. */
  maskPrefix?: string;
  /** Walk subfolders of the image and mask folders (PH2: one folder per image). */
  recursive?: boolean;
  /**
   * "component" (default): one box per 8-connected component of a mask (several polyps in one
   * frame are several boxes). "mask": one box per mask file around all its components: for sets
   * that give each lesion its own file (BUSI's `_mask`, `_mask_1`, `_mask_2`), so two lesions that
   * touch stay two boxes, and a lesion drawn in two pieces stays one.
   */
  objects?: MaskObjects;
}

/**
 * The mask files of one image: the first of prefix+stem+suffix, stem (when masks live apart from
 * the images), stem_mask, stem_segmentation; then the numbered extras of that name (`_1`, `_2`, ...:
 * BUSI's further lesions of the same image).
 */
function findMasks(masks: Map<string, string>, imageStem: string, o: { maskSuffix?: string; maskPrefix?: string; sameFolders: boolean }): string[] {
  const candidates = [
    ...(o.maskSuffix !== undefined || o.maskPrefix !== undefined ? [`${o.maskPrefix ?? ""}${imageStem}${o.maskSuffix ?? ""}`] : []),
    ...(o.sameFolders ? [] : [imageStem]),
    `${imageStem}_mask`,
    `${imageStem}_segmentation`,
  ];
  const base = candidates.find((c) => masks.has(c));
  if (base === undefined) return [];
  const found = [masks.get(base)!];
  for (let k = 1; masks.has(`${base}_${k}`); k++) found.push(masks.get(`${base}_${k}`)!);
  return found;
}

/** Scales mask-space boxes into image space when a mask was saved at another size. */
function rescale(b: [number, number, number, number], sx: number, sy: number): [number, number, number, number] {
  return [b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy];
}

/** The box around several boxes. */
function unionBox(boxes: [number, number, number, number][]): [number, number, number, number] {
  const x1 = Math.min(...boxes.map((b) => b[0]));
  const y1 = Math.min(...boxes.map((b) => b[1]));
  const x2 = Math.max(...boxes.map((b) => b[0] + b[2]));
  const y2 = Math.max(...boxes.map((b) => b[1] + b[3]));
  return [x1, y1, x2 - x1, y2 - y1];
}

/** Image/mask pairs from two folder sets; a mask file is never taken for an image (PH2 keeps both in one folder). */
function pairMasks(o: MaskOptions): { pairs: { stem: string; src: string; masks: string[] }[]; skipped: string[] } {
  const masks = listImages(o.masks, { recursive: o.recursive });
  const imgs = listImages(o.images, { recursive: o.recursive });
  const sameFolders = folderList(o.images).join("\0") === folderList(o.masks).join("\0");
  const found = [...imgs].map(([s, src]) => ({ stem: s, src, masks: findMasks(masks, s, { ...o, sameFolders }) }));
  const maskFiles = new Set(found.flatMap((f) => f.masks));
  const pairs = [];
  const missing: string[] = [];
  for (const f of found) {
    if (maskFiles.has(f.src)) continue;
    if (f.masks.length === 0) missing.push(f.stem);
    else pairs.push(f);
  }
  const skipped = missing.length > 0 ? [`${summarizeIds(missing)}: no mask file found in ${folderList(o.masks).join(", ")} (tried ${o.maskPrefix ?? ""}<id>${o.maskSuffix ?? ""}, <id>, <id>_mask, <id>_segmentation)`] : [];
  return { pairs, skipped };
}

/**
 * Binary masks (Kvasir-SEG, CVC-ColonDB, ETIS, FUSeg, BUSI, PH2; PNG, JPEG, TIFF or BMP): foreground
 * is a pixel whose value (max over channels) is >= the threshold. By default each 8-connected
 * component is one box (Kvasir-SEG's own box file does the same); `objects: "mask"` makes each
 * mask file one box. Components under `minArea` pixels are JPEG specks at the mask's edges and are
 * dropped (counted in a note). An image whose masks are all empty is kept, as a negative.
 */
export async function convertMasks(o: MaskOptions): Promise<ConvertReport> {
  const thr = o.threshold ?? 128;
  if (!Number.isFinite(thr) || thr < 1 || thr > 255) throw new DataArgumentError(`--threshold must be a number from 1 to 255, got ${thr}`);
  const { pairs, skipped } = pairMasks(o);
  const images: ConvertedImage[] = [];
  const stats = { dropped: 0 };
  let multi = 0;
  const onlySpecks: string[] = [];
  for (const p of pairs) {
    const size = await readImageSize(p.src);
    const boxes: ConvertedBox[] = [];
    if (p.masks.length > 1) multi++;
    const droppedBefore = stats.dropped;
    for (const mp of p.masks) {
      const m = await decodeImage(mp);
      const bin = new Uint8Array(m.width * m.height);
      for (let i = 0; i < bin.length; i++) bin[i] = Math.max(m.data[i * 3], m.data[i * 3 + 1], m.data[i * 3 + 2]) >= thr ? 1 : 0;
      const parts = componentBoxes(bin, m.width, m.height, o.minArea, stats);
      const objects = o.objects === "mask" ? (parts.length > 0 ? [unionBox(parts)] : []) : parts;
      for (const b of objects) {
        const c = clipBox(rescale(b, size.width / m.width, size.height / m.height), size.width, size.height);
        if (c) boxes.push({ bbox: c, category: o.category });
      }
    }
    if (boxes.length === 0 && stats.dropped > droppedBefore) onlySpecks.push(p.stem);
    images.push({ src: p.src, width: size.width, height: size.height, boxes });
  }
  const notes = [];
  if (onlySpecks.length > 0) notes.push(`${summarizeIds(onlySpecks)}: the mask marks only regions under ${o.minArea} px, so the image is a negative (lower --min-area to keep them)`);
  if (multi > 0) notes.push(`${multi} image(s) have several mask files (<id>_1, <id>_2, ...); each file's objects are boxes of that image${o.objects === "mask" ? " (one box per file)" : ""}`);
  if (stats.dropped > 0) notes.push(`dropped ${stats.dropped} mask component(s) smaller than ${o.minArea} px (specks: JPEG noise or stray pixels)`);
  return writeConverted(images, o, { categoryOrder: [o.category], skipped, notes });
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
  images: Folders;
  masks: Folders;
  minArea: number;
  /** Colours and their class names; colours given the same name are one class (e.g. both BKAI colours "polyp"). */
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

/**
 * RGB class masks: each pixel goes to the nearest class colour, or to background when black is
 * nearer. For a black/red/green palette that is a threshold of each channel at about 127, which is
 * what JPEG-noisy masks need (BKAI: 5.9 % of the pixels are not exactly one of the three colours).
 * Each 8-connected component of a class is one box; classes that share a name are one class, their
 * pixels joined before the components are found.
 */
export async function convertRgbMasks(o: RgbMaskOptions): Promise<ConvertReport> {
  const classes = o.classes ?? BKAI_CLASSES;
  if (classes.length === 0) throw new DataArgumentError("--classes names no colour");
  const names = [...new Set(classes.map((c) => c.name))];
  const nameIndex = classes.map((c) => names.indexOf(c.name));
  const { pairs, skipped } = pairMasks({ ...o, category: "", maskSuffix: o.maskSuffix });
  const images: ConvertedImage[] = [];
  const stats = { dropped: 0 };
  // Which colours each image shows (after dropping specks): "red only 694, green only 257, both 49".
  const colourSets = new Map<string, number>();
  for (const p of pairs) {
    const size = await readImageSize(p.src);
    const shown = new Set<string>();
    const boxes = [];
    for (const mp of p.masks) {
      const m = await decodeImage(mp);
      const n = m.width * m.height;
      const colourAt = new Int8Array(n).fill(-1);
      for (let i = 0; i < n; i++) {
        const r = m.data[i * 3];
        const g = m.data[i * 3 + 1];
        const b = m.data[i * 3 + 2];
        let best = -1;
        let bestD = r * r + g * g + b * b;
        for (let k = 0; k < classes.length; k++) {
          const c = classes[k].color;
          const d = (r - c[0]) ** 2 + (g - c[1]) ** 2 + (b - c[2]) ** 2;
          if (d < bestD) {
            bestD = d;
            best = k;
          }
        }
        colourAt[i] = best;
      }
      for (const [k, c] of classes.entries()) {
        const bin = new Uint8Array(n);
        for (let i = 0; i < n; i++) bin[i] = colourAt[i] === k ? 1 : 0;
        if (componentBoxes(bin, m.width, m.height, o.minArea).length > 0) shown.add(`${c.name} (${c.color.join(",")})`);
      }
      for (const [j, name] of names.entries()) {
        const bin = new Uint8Array(n);
        for (let i = 0; i < n; i++) bin[i] = colourAt[i] >= 0 && nameIndex[colourAt[i]] === j ? 1 : 0;
        for (const b of componentBoxes(bin, m.width, m.height, o.minArea, stats)) {
          const cb = clipBox(rescale(b, size.width / m.width, size.height / m.height), size.width, size.height);
          if (cb) boxes.push({ bbox: cb, category: name });
        }
      }
    }
    const key = shown.size === 0 ? "none" : classes.map((c) => `${c.name} (${c.color.join(",")})`).filter((c) => shown.has(c)).join(" + ");
    colourSets.set(key, (colourSets.get(key) ?? 0) + 1);
    images.push({ src: p.src, width: size.width, height: size.height, boxes });
  }
  const sets = [...colourSets].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k === "none" ? "no class" : k.includes(" + ") ? k : `only ${k}`}: ${v}`);
  const notes = [`images by the colours their masks show (components of at least ${o.minArea} px): ${sets.join("; ")}`];
  if (stats.dropped > 0) notes.push(`dropped ${stats.dropped} mask component(s) smaller than ${o.minArea} px (specks: JPEG noise or stray pixels)`);
  if (names.length < classes.length) notes.push(`colours that share a name are one class: ${names.map((nm) => `${nm} = ${classes.filter((c) => c.name === nm).map((c) => c.color.join(",")).join(" + ")}`).join("; ")}`);
  return writeConverted(images, o, { categoryOrder: names, skipped, notes });
}

// ---------------------------------------------------------------- Pascal VOC XML (BCCD)

export interface VocOptions extends CommonConvertOptions {
  /** Folder of .xml files. */
  annotations: string;
  /** Image folder(s) (TBX11K keeps train/ and val/ apart). */
  images: Folders;
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

type VocObject = Record<string, unknown>;

/**
 * Pascal VOC XML. VOC corners are 1-based inclusive, so x = xmin - 1 and w = xmax - xmin + 1.
 * Boxes are in pixels of the image `<size>` states; when the file has another size (TBX11K: `<size>`
 * is the original X-ray's, e.g. 2840x2827, the file 512x512), every box is scaled to the file, on
 * the rules of checkDeclaredSizes, and a note says so.
 */
export async function convertVoc(o: VocOptions): Promise<ConvertReport> {
  if (!existsSync(o.annotations)) throw new DataNotFoundError(o.annotations, "VOC annotation folder");
  const imgs = listImages(o.images);
  const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: true });
  const skipped: string[] = [];
  const parsed: (SizedRecord & { name: string; src: string; objects: VocObject[] })[] = [];
  for (const name of readdirSync(o.annotations).filter((f) => f.toLowerCase().endsWith(".xml")).sort()) {
    const doc = parser.parse(readFileSync(join(o.annotations, name), "utf8")) as { annotation?: { filename?: string; object?: unknown; size?: { width?: unknown; height?: unknown } } };
    const ann = doc.annotation;
    if (!ann) {
      skipped.push(`${name}: no <annotation> element`);
      continue;
    }
    const fname = String(ann.filename ?? stem(name));
    const src = imgs.get(stem(fname)) ?? imgs.get(stem(name));
    if (!src) {
      skipped.push(`${name}: image ${fname} not found in ${folderList(o.images).join(", ")}`);
      continue;
    }
    const file = await readImageSize(src);
    const w = Number(ann.size?.width);
    const h = Number(ann.size?.height);
    // A missing or zero <size> (some exporters write 0) means the file's own size.
    const declared = w > 0 && h > 0 ? { width: w, height: h } : file;
    parsed.push({ id: stem(name), name, src, file, declared, objects: asArray(ann.object as VocObject | VocObject[]) });
  }
  const scaledNote = checkDeclaredSizes(parsed, o.annotations, "xml");
  const images: ConvertedImage[] = [];
  let crowd = 0;
  let droppedDifficult = 0;
  for (const { name, src, file, declared, objects } of parsed) {
    const sx = file.width / declared.width;
    const sy = file.height / declared.height;
    const boxes = [];
    for (const obj of objects) {
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
      const c = clipBox([(xmin - 1) * sx, (ymin - 1) * sy, (xmax - xmin + 1) * sx, (ymax - ymin + 1) * sy], file.width, file.height);
      if (!c) {
        skipped.push(`${name}: box of "${cls}" has no area inside the image`);
        continue;
      }
      if (difficult && o.difficult !== "keep") crowd++;
      boxes.push({ bbox: c, category: cls, crowd: difficult && o.difficult !== "keep" });
    }
    images.push({ src, width: file.width, height: file.height, boxes });
  }
  const notes: string[] = scaledNote ? [scaledNote] : [];
  if (crowd > 0) notes.push(`${crowd} object(s) marked difficult written with iscrowd = 1 (ignored by training and by COCO evaluation)`);
  if (droppedDifficult > 0) notes.push(`${droppedDifficult} object(s) marked difficult left out (--difficult drop)`);
  return writeConverted(images, o, { categoryOrder: o.classes ?? [], skipped, notes });
}

// ---------------------------------------------------------------- YOLO txt

export interface YoloOptions extends CommonConvertOptions {
  images: string;
  labels: string;
  /** Class names in index order. */
  classes: string[];
}

/** One image folder and its label folder; `split` (an Ultralytics split name) is kept as each image's `source_split`. */
export interface YoloSource {
  images: string;
  labels: string;
  split?: string;
}

/** Reads class names from classes.txt / obj.names (one per line). */
export function readClassNames(path: string): string[] {
  if (!existsSync(path)) throw new DataNotFoundError(path, "class names file");
  return readFileSync(path, "utf8").split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== "");
}

/** YOLO: labels/<stem>.txt with "class cx cy w h" normalized to [0,1]. */
export async function convertYolo(o: YoloOptions): Promise<ConvertReport> {
  return convertYoloSources([{ images: o.images, labels: o.labels }], o);
}

/** YOLO over several image/label folder pairs (the splits of an Ultralytics folder). */
export async function convertYoloSources(sources: YoloSource[], o: CommonConvertOptions & { classes: string[]; notes?: string[] }): Promise<ConvertReport> {
  if (o.classes.length === 0) throw new DataArgumentError("YOLO needs class names: pass --classes a,b,c or a classes.txt file");
  const images: ConvertedImage[] = [];
  const skipped: string[] = [];
  const unlabelled: string[] = [];
  const seen = new Map<string, string>();
  for (const source of sources) {
    for (const [s, src] of listImages(source.images)) {
      const prior = seen.get(s);
      if (prior !== undefined) throw new DataArgumentError(`two image files have the id (file name stem) "${s}": ${prior} and ${src}; ids must be unique`, { details: { id: s } });
      seen.set(s, src);
      const size = await readImageSize(src);
      const lp = join(source.labels, `${s}.txt`);
      const boxes = [];
      if (existsSync(lp)) {
        for (const [ln, line] of readFileSync(lp, "utf8").split(/\r?\n/).entries()) {
          if (line.trim() === "") continue;
          const v = line.trim().split(/\s+/).map(Number);
          const cls = v[0];
          if (v.length < 5 || v.some((x) => !Number.isFinite(x)) || !Number.isInteger(cls) || cls < 0 || cls >= o.classes.length) {
            skipped.push(`${lp}:${ln + 1}: "${line.trim()}" is not "class cx cy w h" with a class from 0 to ${o.classes.length - 1}`);
            continue;
          }
          const [, cx, cy, w, h] = v;
          const c = clipBox([(cx - w / 2) * size.width, (cy - h / 2) * size.height, w * size.width, h * size.height], size.width, size.height);
          if (c) boxes.push({ bbox: c, category: o.classes[cls] });
          else skipped.push(`${lp}:${ln + 1}: box has no area inside the image`);
        }
      } else unlabelled.push(s);
      images.push({ src, width: size.width, height: size.height, boxes, ...(source.split ? { extra: { source_split: source.split } } : {}) });
    }
  }
  // YOLO convention: an image without a label file has no objects.
  if (unlabelled.length > 0) skipped.push(`${summarizeIds(unlabelled)} have no label file (<id>.txt); kept as images without objects`);
  return writeConverted(images, o, { categoryOrder: o.classes, skipped, notes: o.notes ?? [] });
}

export interface YoloLayout {
  sources: YoloSource[];
  /** From data.yaml's `names`, or classes.txt / obj.names; undefined when the folder names none. */
  classes?: string[];
  notes: string[];
}

const YOLO_YAML = ["data.yaml", "data.yml", "dataset.yaml"];

/** Ultralytics' rule: a split's labels live where its path has "labels" for the last "images" segment. */
function labelsFor(imagesRel: string): string {
  const parts = imagesRel.split(/[\\/]/);
  const k = parts.lastIndexOf("images");
  if (k < 0) return imagesRel;
  parts[k] = "labels";
  return parts.join("/");
}

function yamlNames(names: unknown, nc: unknown, file: string): string[] {
  let list: string[];
  if (Array.isArray(names)) list = names.map(String);
  else if (typeof names === "object" && names !== null) {
    const entries = Object.entries(names as Record<string, unknown>).map(([k, v]) => [Number(k), String(v)] as const).sort((x, y) => x[0] - y[0]);
    if (entries.some(([k], i) => k !== i)) throw new DataArgumentError(`${file}: names: class indices must be 0, 1, 2, ... without gaps, got ${entries.map(([k]) => k).join(", ")}`, { details: { file, field: "names" } });
    list = entries.map(([, v]) => v);
  } else throw new DataArgumentError(`${file}: names: expected a list or a {index: name} map of class names`, { details: { file, field: "names" } });
  if (nc !== undefined && Number(nc) !== list.length) throw new DataArgumentError(`${file}: nc is ${String(nc)} but names lists ${list.length} classes`, { details: { file, field: "nc" } });
  return list;
}

/**
 * The folders of a YOLO dataset: an Ultralytics folder (data.yaml with `names` and `train`/`val`/
 * `test` image folders; each split's labels where "images" becomes "labels"), or a plain `images/`
 * + `labels/` (+ `classes.txt`) folder, whose images/ may hold split subfolders. Folders are
 * resolved relative to `dir`: data.yaml's `path:` is where the set lived on its author's machine
 * (TBX11K's says /kaggle/input/...), so it is ignored, with a note.
 */
export function readYoloLayout(dir: string): YoloLayout {
  if (!existsSync(dir)) throw new DataNotFoundError(dir, "YOLO dataset folder");
  const yamlFile = YOLO_YAML.map((f) => join(dir, f)).find((f) => existsSync(f));
  const namesFile = ["classes.txt", "obj.names"].map((f) => join(dir, f)).find((f) => existsSync(f));
  const fileClasses = namesFile ? readClassNames(namesFile) : undefined;
  if (!yamlFile) {
    const images = join(dir, "images");
    if (!existsSync(images)) throw new DataNotFoundError(images, "YOLO image folder (a plain YOLO folder has images/ and labels/; an Ultralytics one has data.yaml)");
    const subs = readdirSync(images, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    const hasFiles = listImages(images).size > 0;
    const sources = !hasFiles && subs.length > 0 ? subs.map((sub) => ({ images: join(images, sub), labels: join(dir, "labels", sub), split: sub })) : [{ images, labels: join(dir, "labels") }];
    return { sources, classes: fileClasses, notes: [] };
  }
  let doc: Record<string, unknown>;
  try {
    doc = parseYaml(readFileSync(yamlFile, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new DataArgumentError(`${yamlFile}: not valid YAML (${err instanceof Error ? err.message.split("\n")[0] : String(err)})`, { cause: err, details: { file: yamlFile } });
  }
  if (typeof doc !== "object" || doc === null) throw new DataArgumentError(`${yamlFile}: expected a mapping with names and train/val image folders`, { details: { file: yamlFile } });
  const notes: string[] = [];
  if (typeof doc.path === "string" && doc.path.trim() !== "" && doc.path.trim() !== ".") notes.push(`${basename(yamlFile)}: ignored path: ${doc.path} (folders are resolved relative to ${dir})`);
  const classes = doc.names === undefined ? fileClasses : yamlNames(doc.names, doc.nc, yamlFile);
  const sources: YoloSource[] = [];
  const used = new Map<string, string>();
  for (const split of ["train", "val", "test"]) {
    const v = doc[split];
    if (v === undefined || v === null || v === "") continue;
    for (const rel of Array.isArray(v) ? v.map(String) : [String(v)]) {
      if (rel.toLowerCase().endsWith(".txt")) throw new DataArgumentError(`${yamlFile}: ${split}: ${rel} is an image list file; point ${split} at an image folder (list files are not supported)`, { details: { file: yamlFile, field: split } });
      const images = join(dir, rel);
      if (!existsSync(images)) throw new DataNotFoundError(images, `image folder of ${basename(yamlFile)}'s ${split}`);
      const prior = used.get(images);
      if (prior !== undefined) {
        notes.push(`${basename(yamlFile)}: ${split} is the same folder as ${prior} (${rel}); its images are counted once, as ${prior}`);
        continue;
      }
      used.set(images, split);
      sources.push({ images, labels: join(dir, labelsFor(rel)), split });
    }
  }
  if (sources.length === 0) throw new DataArgumentError(`${yamlFile}: names no image folder (train, val or test)`, { details: { file: yamlFile } });
  return { sources, classes, notes };
}

/** `data convert --from yolo DIR`: an Ultralytics or a plain YOLO folder (readYoloLayout); `classes` overrides the folder's names. */
export async function convertYoloFolder(dir: string, o: CommonConvertOptions & { classes?: string[] }): Promise<ConvertReport> {
  const layout = readYoloLayout(dir);
  const classes = o.classes ?? layout.classes;
  if (!classes) throw new DataArgumentError(`${dir}: no class names (no names in data.yaml, no classes.txt or obj.names); pass --classes a,b,c`);
  return convertYoloSources(layout.sources, { ...o, classes, notes: layout.notes });
}

/** One prompt from CLI flags for a single-category converter. */
export function singlePrompt(category: string, parts: Partial<PromptParts>): PromptMap {
  const defined = Object.fromEntries(Object.entries(parts).filter(([, v]) => v !== undefined));
  return Object.keys(defined).length > 0 ? { [category]: defined } : {};
}

