import { copyFile, mkdir } from "node:fs/promises";
import { existsSync, readdirSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { writeFileAtomic } from "../../store/index.js";
import { ANNOTATIONS_FILE } from "../coco.js";
import { DataArgumentError, DataNotFoundError } from "../errors.js";
import { sharpFromFile } from "../image.js";
import { type Annotation, type CategoryInfo, type ImageInfo, type PromptParts } from "../types.js";
import { tileImages, type TileOptions } from "./tiles.js";
import type { ConvertedImage } from "./converted.js";

export type { ConvertedBox, ConvertedImage } from "./converted.js";

export const IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp"];

/** Prompt parts per category name; missing parts default to prefix "", name = the category name, suffix "". */
export type PromptMap = Record<string, Partial<PromptParts>>;

/** The polyp prompt the paper's experiments use. */
export const POLYP_PROMPT: PromptParts = { prefix: "", name: "pink yellow red color oval bump", suffix: " in rectum" };

export function promptFor(name: string, prompts: PromptMap = {}): PromptParts {
  const p = prompts[name] ?? {};
  const fallback = /polyp/i.test(name) && !prompts[name] ? POLYP_PROMPT : { prefix: "", name: name.replace(/[_-]+/g, " ").toLowerCase(), suffix: "" };
  return { prefix: p.prefix ?? fallback.prefix, name: p.name ?? fallback.name, suffix: p.suffix ?? fallback.suffix };
}

export function stem(file: string): string {
  return basename(file, extname(file));
}

/** One folder or several (e.g. a dataset's train/ and validation/ image folders). */
export type Folders = string | string[];

export function folderList(f: Folders): string[] {
  return typeof f === "string" ? [f] : f;
}

/**
 * Image files in one or more folders, sorted, by stem; `recursive` also walks subfolders (PH2 keeps
 * each image in its own folder). A stem found twice is refused: ids must name one image.
 */
export function listImages(dirs: Folders, o: { recursive?: boolean } = {}): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (o.recursive) walk(p);
        continue;
      }
      if (!IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase())) continue;
      const prior = out.get(stem(e.name));
      if (prior !== undefined) throw new DataArgumentError(`two image files have the id (file name stem) "${stem(e.name)}": ${prior} and ${p}; ids must be unique`, { details: { id: stem(e.name) } });
      out.set(stem(e.name), p);
    }
  };
  for (const dir of folderList(dirs)) {
    if (!existsSync(dir)) throw new DataNotFoundError(dir, "image folder");
    walk(dir);
  }
  return out;
}

export interface ConvertReport {
  out: string;
  images: number;
  annotations: number;
  categories: string[];
  /** Inputs that were skipped, with why (a box outside its image, an image without a label file, ...). */
  skipped: string[];
  /** Boxes written per category name (crowd/ignore boxes included), in category order. */
  perCategory: Record<string, number>;
  /** Crowd (iscrowd = 1, ignored) boxes among them. */
  crowd: number;
  /** Images written without any object: kept as negatives. */
  negatives: number;
  /** Things the converter did to every image that a user must know, said once (e.g. box scaling). */
  notes: string[];
}

/** "3 ids: a, b, c" or "12 ids: a, b, c, d, e, ...": a long list said once, not one line each. */
export function summarizeIds(ids: string[], shown = 5): string {
  return `${ids.length} ${ids.length === 1 ? "id" : "ids"}: ${ids.slice(0, shown).join(", ")}${ids.length > shown ? ", ..." : ""}`;
}

/** Clips a box to the image; null if nothing with positive area is left. */
export function clipBox(b: [number, number, number, number], width: number, height: number): [number, number, number, number] | null {
  const x1 = Math.max(0, Math.min(width, b[0]));
  const y1 = Math.max(0, Math.min(height, b[1]));
  const x2 = Math.max(0, Math.min(width, b[0] + b[2]));
  const y2 = Math.max(0, Math.min(height, b[1] + b[3]));
  if (x2 - x1 <= 0 || y2 - y1 <= 0) return null;
  const r = (v: number): number => Math.round(v * 1000) / 1000;
  return [r(x1), r(y1), r(x2 - x1), r(y2 - y1)];
}

/** Options every converter takes. */
export interface CommonConvertOptions {
  out: string;
  /** Prompt parts per category name. */
  prompts?: PromptMap;
  /** Cut every image into a grid of tiles (MoNuSeg's 1000x1000 tiles of hundreds of nuclei). */
  tile?: TileOptions;
  /** Leave out categories that no box uses (a class list naming a class the labels never use). */
  dropEmptyCategories?: boolean;
}

export interface WriteConvertedExtras {
  /** Category names in id order; names found only in boxes follow, sorted. */
  categoryOrder: string[];
  skipped: string[];
  notes?: string[];
}

/**
 * Writes out/images/* (copies, or tiles) and out/annotations.json. Category ids follow
 * `categoryOrder` (1-based), then any other names in sorted order. Notes what a user must know:
 * tiling, categories without a box, images kept as negatives.
 */
export async function writeConverted(converted: ConvertedImage[], o: CommonConvertOptions, x: WriteConvertedExtras): Promise<ConvertReport> {
  const { out } = o;
  const skipped = [...x.skipped];
  const notes = [...(x.notes ?? [])];
  if (converted.length === 0) throw new DataArgumentError(`nothing to convert: no images were found (skipped: ${skipped.slice(0, 5).join("; ") || "none"})`);
  let images = converted;
  if (o.tile) {
    const t = tileImages(converted, o.tile);
    images = t.images;
    notes.push(...t.notes);
  }
  let names = [...x.categoryOrder];
  const extra = new Set<string>();
  const used = new Set<string>();
  for (const im of images) {
    for (const b of im.boxes) {
      used.add(b.category);
      if (!names.includes(b.category)) extra.add(b.category);
    }
  }
  names.push(...[...extra].sort());
  const empty = names.filter((n) => !used.has(n));
  if (empty.length > 0) {
    notes.push(
      o.dropEmptyCategories
        ? `left out ${empty.length} categor${empty.length === 1 ? "y" : "ies"} that no box uses: ${empty.join(", ")}`
        : `${empty.length} categor${empty.length === 1 ? "y has" : "ies have"} no box: ${empty.join(", ")} (its prompt is still in every caption; --drop-empty-categories leaves it out)`,
    );
    if (o.dropEmptyCategories) names = names.filter((n) => used.has(n));
  }
  const prompts = o.prompts ?? {};
  const categories: CategoryInfo[] = names.map((name, i) => ({ id: i + 1, name, prompt: promptFor(name, prompts) }));
  const idOf = new Map(categories.map((c) => [c.name, c.id]));
  await mkdir(join(out, "images"), { recursive: true });
  const infos: ImageInfo[] = [];
  const anns: Annotation[] = [];
  const perCategory: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  const files = new Set<string>();
  let crowd = 0;
  let negatives = 0;
  for (const [i, im] of images.entries()) {
    let file = im.crop ? im.crop.name : basename(im.src);
    // Two inputs with the same base name (e.g. from different folders) must not overwrite each other.
    if (files.has(file)) file = `${i + 1}-${file}`;
    files.add(file);
    if (im.crop) {
      const region = { left: im.crop.left, top: im.crop.top, width: im.width, height: im.height };
      await (await sharpFromFile(im.src)).extract(region).png().toFile(join(out, "images", file));
    } else await copyFile(im.src, join(out, "images", file));
    infos.push({ id: i + 1, file_name: `images/${file}`, width: im.width, height: im.height, ...im.extra });
    for (const b of im.boxes) {
      anns.push({ id: anns.length + 1, image_id: i + 1, category_id: idOf.get(b.category) as number, bbox: b.bbox, area: b.bbox[2] * b.bbox[3], iscrowd: b.crowd ? 1 : 0 });
      perCategory[b.category] += 1;
      if (b.crowd) crowd++;
    }
    if (!im.boxes.some((b) => !b.crowd)) negatives++;
  }
  if (negatives > 0) notes.push(`${negatives} image(s) have no object and are kept as negatives (every detection on them is a false positive)`);
  await writeFileAtomic(join(out, ANNOTATIONS_FILE), `${JSON.stringify({ images: infos, annotations: anns, categories }, null, 1)}\n`);
  return { out, images: infos.length, annotations: anns.length, categories: names, skipped, perCategory, crowd, negatives, notes };
}
