import { copyFile, mkdir } from "node:fs/promises";
import { existsSync, readdirSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { writeFileAtomic } from "../../store/index.js";
import { ANNOTATIONS_FILE } from "../coco.js";
import { DataArgumentError, DataNotFoundError } from "../errors.js";
import { type Annotation, type CategoryInfo, type ImageInfo, type PromptParts } from "../types.js";

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

/** Image files in a folder (not recursive), sorted, by stem. */
export function listImages(dir: string): Map<string, string> {
  if (!existsSync(dir)) throw new DataNotFoundError(dir, "image folder");
  const out = new Map<string, string>();
  for (const name of readdirSync(dir).sort()) {
    if (IMAGE_EXTENSIONS.includes(extname(name).toLowerCase())) out.set(stem(name), join(dir, name));
  }
  return out;
}

export interface ConvertedBox {
  bbox: [number, number, number, number];
  category: string;
  /** COCO iscrowd = 1: an "ignore" region (VOC `difficult`): not trained on, neither TP nor FP in eval. */
  crowd?: boolean;
}

export interface ConvertedImage {
  /** Source file; copied byte for byte into out/images/. */
  src: string;
  width: number;
  height: number;
  boxes: ConvertedBox[];
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

/**
 * Writes out/images/* (copies) and out/annotations.json. Category ids follow `categoryOrder`
 * (1-based), then any other names in sorted order.
 */
export async function writeConverted(out: string, images: ConvertedImage[], categoryOrder: string[], prompts: PromptMap, skipped: string[], notes: string[] = []): Promise<ConvertReport> {
  if (images.length === 0) throw new DataArgumentError(`nothing to convert: no images were found (skipped: ${skipped.slice(0, 5).join("; ") || "none"})`);
  const names = [...categoryOrder];
  const extra = new Set<string>();
  for (const im of images) for (const b of im.boxes) if (!names.includes(b.category)) extra.add(b.category);
  names.push(...[...extra].sort());
  const categories: CategoryInfo[] = names.map((name, i) => ({ id: i + 1, name, prompt: promptFor(name, prompts) }));
  const idOf = new Map(categories.map((c) => [c.name, c.id]));
  await mkdir(join(out, "images"), { recursive: true });
  const infos: ImageInfo[] = [];
  const anns: Annotation[] = [];
  const perCategory: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  const used = new Set<string>();
  for (const [i, im] of images.entries()) {
    let file = basename(im.src);
    // Two inputs with the same base name (e.g. from different folders) must not overwrite each other.
    if (used.has(file)) file = `${i + 1}-${file}`;
    used.add(file);
    await copyFile(im.src, join(out, "images", file));
    infos.push({ id: i + 1, file_name: `images/${file}`, width: im.width, height: im.height });
    for (const b of im.boxes) {
      anns.push({ id: anns.length + 1, image_id: i + 1, category_id: idOf.get(b.category) as number, bbox: b.bbox, area: b.bbox[2] * b.bbox[3], iscrowd: b.crowd ? 1 : 0 });
      perCategory[b.category] += 1;
    }
  }
  await writeFileAtomic(join(out, ANNOTATIONS_FILE), `${JSON.stringify({ images: infos, annotations: anns, categories }, null, 1)}\n`);
  return { out, images: infos.length, annotations: anns.length, categories: names, skipped, perCategory, notes };
}
