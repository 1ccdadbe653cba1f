import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { DataValidationError } from "./errors.js";
import { decodeImage, readImageSize } from "./image.js";
import { mapLimit } from "./pool.js";
import {
  type Annotation,
  type CategoryInfo,
  type CocoDataset,
  type ImageCaption,
  type ImageInfo,
  type ValidationProblem,
} from "./types.js";

export const ANNOTATIONS_FILE = "annotations.json";
export const CAPTIONS_FILE = "captions.json";

/** How deeply image files are checked: not at all, header size only, or a full decode. */
export type ImageCheck = "none" | "header" | "decode";

export interface LoadCocoOptions {
  /** Default "header": existence and stored size, cheap enough for 50k images. `medfcl data validate` decodes. */
  checkImages?: ImageCheck;
  /** How many image files are checked at once. */
  concurrency?: number;
}

export function defaultLoadCocoOptions(): Required<LoadCocoOptions> {
  return { checkImages: "header", concurrency: 8 };
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v);
}

/** Box tolerance: converters round to 1e-3 px, and real sets have boxes that touch the border exactly. */
const EDGE_EPS = 1e-3;

interface Parsed {
  images: ImageInfo[];
  annotations: Annotation[];
  categories: CategoryInfo[];
  problems: ValidationProblem[];
}

/**
 * Checks the JSON structure of a COCO + prompt dataset: schema, unique ids, references, boxes inside
 * their image with positive area, and prompts. Records with problems are left out of the result.
 */
export function parseCocoJson(raw: unknown, file: string): Parsed {
  const problems: ValidationProblem[] = [];
  const add = (record: string, field: string, message: string): void => {
    problems.push({ file, record, field, message });
  };
  const out: Parsed = { images: [], annotations: [], categories: [], problems };
  if (!isObject(raw)) {
    add("", "", "the top level must be a JSON object with images, annotations and categories");
    return out;
  }
  for (const key of ["images", "annotations", "categories"]) {
    if (!Array.isArray(raw[key])) add("", key, `missing or not an array; a COCO file needs "${key}": [...]`);
  }
  if (problems.length > 0) return out;

  const catIds = new Set<number>();
  (raw.categories as unknown[]).forEach((c, i) => {
    const rec = isObject(c) && isInt(c.id) ? `category ${c.id}` : `categories[${i}]`;
    if (!isObject(c)) return add(rec, "", "must be an object");
    let ok = true;
    if (!isInt(c.id)) {
      add(rec, "id", "must be an integer");
      ok = false;
    } else if (catIds.has(c.id)) {
      add(rec, "id", `duplicate category id ${c.id}; category ids must be unique`);
      ok = false;
    }
    if (typeof c.name !== "string" || c.name.trim() === "") {
      add(rec, "name", "must be a non-empty string");
      ok = false;
    }
    const p = c.prompt;
    if (!isObject(p)) {
      add(rec, "prompt", 'missing; every category needs "prompt": {"prefix", "name", "suffix"} (use --prompt-name when converting)');
      ok = false;
    } else {
      for (const part of ["prefix", "name", "suffix"]) {
        if (typeof p[part] !== "string") {
          add(rec, `prompt.${part}`, "must be a string");
          ok = false;
        }
      }
      if (typeof p.name === "string" && p.name.trim() === "") {
        add(rec, "prompt.name", "must not be empty; it is the phrase the detector grounds");
        ok = false;
      }
    }
    if (isInt(c.id)) catIds.add(c.id);
    if (ok) {
      const pr = p as Json;
      out.categories.push({
        id: c.id as number,
        name: c.name as string,
        prompt: { prefix: pr.prefix as string, name: pr.name as string, suffix: pr.suffix as string },
      });
    }
  });

  const imageById = new Map<number, ImageInfo>();
  const seenImageIds = new Set<number>();
  (raw.images as unknown[]).forEach((im, i) => {
    const rec = isObject(im) && isInt(im.id) ? `image ${im.id}` : `images[${i}]`;
    if (!isObject(im)) return add(rec, "", "must be an object");
    let ok = true;
    if (!isInt(im.id)) {
      add(rec, "id", "must be an integer");
      ok = false;
    } else if (seenImageIds.has(im.id)) {
      add(rec, "id", `duplicate image id ${im.id}; image ids must be unique`);
      ok = false;
    }
    if (typeof im.file_name !== "string" || im.file_name === "") {
      add(rec, "file_name", "must be a non-empty path relative to the dataset folder");
      ok = false;
    }
    for (const f of ["width", "height"]) {
      if (!isInt(im[f]) || (im[f] as number) <= 0) {
        add(rec, f, "must be a positive integer");
        ok = false;
      }
    }
    const cc = im.caption_categories;
    if (cc !== undefined && (!Array.isArray(cc) || cc.length === 0 || !cc.every((c) => isInt(c) && catIds.has(c)))) {
      add(rec, "caption_categories", `must be a non-empty list of category ids of this file (known: ${[...catIds].join(", ") || "none"})`);
      ok = false;
    }
    if (isInt(im.id)) seenImageIds.add(im.id);
    if (ok) {
      const info: ImageInfo = { id: im.id as number, file_name: im.file_name as string, width: im.width as number, height: im.height as number };
      if (cc !== undefined) info.caption_categories = [...(cc as number[])];
      out.images.push(info);
      imageById.set(info.id, info);
    }
  });

  const seenAnnIds = new Set<number>();
  (raw.annotations as unknown[]).forEach((a, i) => {
    const rec = isObject(a) && isInt(a.id) ? `annotation ${a.id}` : `annotations[${i}]`;
    if (!isObject(a)) return add(rec, "", "must be an object");
    let ok = true;
    if (!isInt(a.id)) {
      add(rec, "id", "must be an integer");
      ok = false;
    } else if (seenAnnIds.has(a.id)) {
      add(rec, "id", `duplicate annotation id ${a.id}; annotation ids must be unique`);
      ok = false;
    }
    if (isInt(a.id)) seenAnnIds.add(a.id);
    const img = isInt(a.image_id) ? imageById.get(a.image_id) : undefined;
    if (!isInt(a.image_id)) {
      add(rec, "image_id", "must be an integer");
      ok = false;
    } else if (!seenImageIds.has(a.image_id)) {
      add(rec, "image_id", `refers to image ${a.image_id}, which does not exist`);
      ok = false;
    }
    if (!isInt(a.category_id)) {
      add(rec, "category_id", "must be an integer");
      ok = false;
    } else if (!catIds.has(a.category_id)) {
      add(rec, "category_id", `refers to category ${a.category_id}, which does not exist (known: ${[...catIds].join(", ") || "none"})`);
      ok = false;
    } else if (img?.caption_categories && !img.caption_categories.includes(a.category_id)) {
      add(rec, "category_id", `category ${a.category_id} is not in image ${img.id}'s caption_categories (${img.caption_categories.join(", ")}), so the box could not be grounded`);
      ok = false;
    }
    const b = a.bbox;
    if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === "number" && Number.isFinite(v))) {
      add(rec, "bbox", "must be [x, y, width, height] with 4 finite numbers");
      ok = false;
    } else {
      const [x, y, w, h] = b as number[];
      if (w <= 0 || h <= 0) {
        add(rec, "bbox", `box [${b.join(", ")}] has no positive area (width and height must be > 0)`);
        ok = false;
      } else if (img && (x < -EDGE_EPS || y < -EDGE_EPS || x + w > img.width + EDGE_EPS || y + h > img.height + EDGE_EPS)) {
        add(rec, "bbox", `box [${b.join(", ")}] is outside image ${img.id} (${img.width}x${img.height}); clip it to the image`);
        ok = false;
      }
    }
    if (a.area !== undefined && (typeof a.area !== "number" || !Number.isFinite(a.area) || a.area < 0)) {
      add(rec, "area", "must be a non-negative number when present");
      ok = false;
    }
    if (a.iscrowd !== undefined && a.iscrowd !== 0 && a.iscrowd !== 1) {
      add(rec, "iscrowd", "must be 0 or 1 when present");
      ok = false;
    }
    if (ok) {
      const bb = a.bbox as [number, number, number, number];
      out.annotations.push({
        id: a.id as number,
        image_id: a.image_id as number,
        category_id: a.category_id as number,
        bbox: [bb[0], bb[1], bb[2], bb[3]],
        area: typeof a.area === "number" ? a.area : bb[2] * bb[3],
        iscrowd: a.iscrowd === 1 ? 1 : 0,
      });
    }
  });
  return out;
}

/** Checks that each image file exists, and (by mode) that its header size or full decode matches the JSON. */
export async function checkImageFiles(
  dir: string,
  images: ImageInfo[],
  mode: ImageCheck,
  concurrency = 8,
): Promise<ValidationProblem[]> {
  if (mode === "none") return [];
  const found = await mapLimit(images, concurrency, async (im): Promise<ValidationProblem[]> => {
    const path = join(dir, im.file_name);
    const rec = `image ${im.id}`;
    if (!existsSync(path) || !statSync(path).isFile()) {
      return [{ file: path, record: rec, field: "file_name", message: `image file "${im.file_name}" does not exist in ${dir}` }];
    }
    let size: { width: number; height: number };
    try {
      if (mode === "decode") {
        const img = await decodeImage(path);
        size = { width: img.width, height: img.height };
      } else {
        size = await readImageSize(path);
      }
    } catch (err) {
      return [{ file: path, record: rec, field: "file_name", message: `does not decode: ${err instanceof Error ? err.message : String(err)}` }];
    }
    const out: ValidationProblem[] = [];
    if (size.width !== im.width) out.push({ file: path, record: rec, field: "width", message: `the JSON says ${im.width} but the file is ${size.width} wide` });
    if (size.height !== im.height) out.push({ file: path, record: rec, field: "height", message: `the JSON says ${im.height} but the file is ${size.height} high` });
    return out;
  });
  return found.flat();
}

/**
 * Largest COCO JSON read (annotations.json, captions.json). The biggest public sets' annotation
 * files are a few hundred MB; a replay buffer written from exemplar infos is far smaller.
 */
export const MAX_COCO_JSON_BYTES = 1024 * 1024 * 1024;

function tooLarge(file: string, problems: ValidationProblem[]): boolean {
  const size = statSync(file).size;
  if (size <= MAX_COCO_JSON_BYTES) return false;
  problems.push({ file, record: "", field: "", message: `is ${size} bytes, over the ${MAX_COCO_JSON_BYTES}-byte limit for a COCO JSON file` });
  return true;
}

function readCaptions(dir: string, images: ImageInfo[], problems: ValidationProblem[]): Map<number, ImageCaption> | undefined {
  const file = join(dir, CAPTIONS_FILE);
  if (!existsSync(file) || tooLarge(file, problems)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    problems.push({ file, record: "", field: "", message: `is not valid JSON (${err instanceof Error ? err.message : String(err)})` });
    return undefined;
  }
  if (!isObject(raw)) {
    problems.push({ file, record: "", field: "", message: 'must map image paths to {"caption", "prefix", "name", "suffix"}' });
    return undefined;
  }
  const byName = new Map(images.map((im) => [im.file_name, im.id]));
  const out = new Map<number, ImageCaption>();
  for (const [name, value] of Object.entries(raw)) {
    const id = byName.get(name) ?? byName.get(`images/${name}`);
    if (id === undefined) {
      problems.push({ file, record: name, field: "", message: "names an image that is not in annotations.json" });
      continue;
    }
    if (!isObject(value)) {
      problems.push({ file, record: name, field: "", message: "must be an object" });
      continue;
    }
    const cap: ImageCaption = {};
    for (const k of ["caption", "prefix", "name", "suffix"] as const) {
      const v = value[k];
      if (v === undefined) continue;
      if (typeof v !== "string") problems.push({ file, record: name, field: k, message: "must be a string" });
      else cap[k] = v;
    }
    out.set(id, cap);
  }
  return out;
}

function readJsonFile(file: string, problems: ValidationProblem[]): unknown {
  if (!existsSync(file)) {
    problems.push({ file, record: "", field: "", message: "does not exist; a dataset folder holds annotations.json and images/" });
    return undefined;
  }
  if (tooLarge(file, problems)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    problems.push({ file, record: "", field: "", message: `is not valid JSON (${err instanceof Error ? err.message : String(err)})` });
    return undefined;
  }
}

/** Every problem in a dataset folder; empty means valid. Never throws on bad data. */
export async function validateDataset(dir: string, opts: LoadCocoOptions = {}): Promise<ValidationProblem[]> {
  const { problems } = await parseDataset(dir, { checkImages: "decode", ...opts });
  return problems;
}

async function parseDataset(dir: string, opts: LoadCocoOptions): Promise<{ parsed: Parsed; captions?: Map<number, ImageCaption>; problems: ValidationProblem[] }> {
  const o = { ...defaultLoadCocoOptions(), ...opts };
  const file = join(dir, ANNOTATIONS_FILE);
  const problems: ValidationProblem[] = [];
  const raw = readJsonFile(file, problems);
  if (problems.length > 0) return { parsed: { images: [], annotations: [], categories: [], problems: [] }, problems };
  const parsed = parseCocoJson(raw, file);
  problems.push(...parsed.problems);
  problems.push(...(await checkImageFiles(dir, parsed.images, o.checkImages, o.concurrency)));
  const captions = readCaptions(dir, parsed.images, problems);
  return { parsed, captions, problems };
}

/** Groups annotations by image id; every image gets an entry, possibly empty. */
export function indexAnnotations(images: ImageInfo[], annotations: Annotation[]): Map<number, Annotation[]> {
  const byImage = new Map<number, Annotation[]>();
  for (const im of images) byImage.set(im.id, []);
  for (const a of annotations) byImage.get(a.image_id)?.push(a);
  return byImage;
}

/**
 * Loads a dataset folder's metadata (annotations.json, optional captions.json). Pixels are not
 * read here. Throws DataValidationError listing every problem if anything is wrong.
 */
export async function loadCocoDataset(dir: string, opts: LoadCocoOptions = {}): Promise<CocoDataset> {
  const { parsed, captions, problems } = await parseDataset(dir, opts);
  if (problems.length > 0) throw new DataValidationError(dir, problems);
  const ds: CocoDataset = {
    dir,
    images: parsed.images,
    annotations: parsed.annotations,
    categories: parsed.categories,
    annotationsByImage: indexAnnotations(parsed.images, parsed.annotations),
  };
  if (captions) ds.captions = captions;
  return ds;
}

/** Builds a dataset from in-memory parts (already valid), e.g. for subsets or replay buffers. */
export function makeDataset(dir: string, images: ImageInfo[], annotations: Annotation[], categories: CategoryInfo[]): CocoDataset {
  return { dir, images, annotations, categories, annotationsByImage: indexAnnotations(images, annotations) };
}

/** A dataset restricted to some images (by position), sharing the folder. */
export function subsetDataset(ds: CocoDataset, indices: number[]): CocoDataset {
  const images = indices.map((i) => ds.images[i]);
  const ids = new Set(images.map((im) => im.id));
  const sub = makeDataset(
    ds.dir,
    images,
    ds.annotations.filter((a) => ids.has(a.image_id)),
    ds.categories,
  );
  if (ds.captions) sub.captions = new Map([...ds.captions].filter(([id]) => ids.has(id)));
  return sub;
}
