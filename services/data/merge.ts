/**
 * Pools several COCO dataset folders into one: the data a centralised ("joint") baseline trains on.
 * Images are hard-linked (copied across file systems), ids are renumbered, categories are merged
 * by name, and every image keeps its own part's classes as its caption_categories, so a pool of
 * several tasks trains each image against its own prompt, as GLIP's joint training does.
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { extname, join } from "node:path";
import { writeFileAtomicSync } from "../store/index.js";
import { ANNOTATIONS_FILE, loadCocoDataset } from "./coco.js";
import { DataArgumentError } from "./errors.js";
import { hashString, mixSeed, randomShotIndices } from "./prng.js";
import type { PromptParts } from "./types.js";

export interface MergePart {
  /** Short name; the pooled images live under images/<name>/. */
  name: string;
  dir: string;
  /** Keep only this many images of the part (a seeded random subset, as few-shot joint training). */
  limit?: number;
}

export interface MergeResult {
  dir: string;
  images: number;
  perPart: Record<string, number>;
  /** False when an earlier call already wrote the same pool (same parts, limits and seed). */
  written: boolean;
}

type RawRecord = Record<string, unknown>;

function samePrompt(a: PromptParts | undefined, b: PromptParts | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

interface PriorMerge {
  info?: { medfcl_merge?: unknown; per_part?: Record<string, number> };
  images?: unknown[];
}

/** An earlier pool's annotations, or undefined when there is none or it cannot be read (redo it). */
function readPriorMerge(file: string): PriorMerge | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as PriorMerge;
  } catch {
    return undefined;
  }
}

/**
 * Writes `out`/annotations.json and `out`/images/ from `parts`. Each part is validated first (a bad
 * part names its own file); annotations.json is written last and atomically, so an interrupted
 * merge is redone, never half-used.
 */
export async function mergeDatasets(parts: MergePart[], out: string, options: { seed: number }): Promise<MergeResult> {
  if (parts.length === 0) throw new DataArgumentError("mergeDatasets needs at least one dataset folder");
  const names = new Set<string>();
  for (const p of parts) {
    if (!/^[A-Za-z0-9._-]+$/.test(p.name)) throw new DataArgumentError(`part name "${p.name}" must be letters, digits, ".", "_" or "-" (it becomes a folder name)`);
    if (names.has(p.name)) throw new DataArgumentError(`part name "${p.name}" is used twice`);
    names.add(p.name);
  }
  // format 2: images carry caption_categories (pools written before are redone).
  const recipe = { format: 2, parts: parts.map((p) => ({ name: p.name, dir: p.dir, limit: p.limit ?? null })), seed: options.seed };
  const annFile = join(out, ANNOTATIONS_FILE);
  const prior = readPriorMerge(annFile);
  if (prior && JSON.stringify(prior.info?.medfcl_merge) === JSON.stringify(recipe)) {
    return { dir: out, images: prior.images?.length ?? 0, perPart: prior.info?.per_part ?? {}, written: false };
  }

  const categories: { id: number; name: string; prompt: PromptParts; from: string }[] = [];
  const images: RawRecord[] = [];
  const annotations: RawRecord[] = [];
  const perPart: Record<string, number> = {};
  for (const part of parts) {
    // Validates the part (fields, ids, references) before anything of it is used.
    const ds = await loadCocoDataset(part.dir);
    // The raw records too: the parsed ones drop fields the pool must keep (shareable, patient_id, …).
    const raw = JSON.parse(readFileSync(join(part.dir, ANNOTATIONS_FILE), "utf8")) as { images: RawRecord[]; annotations: RawRecord[] };
    const catMap = new Map<number, number>();
    for (const c of ds.categories) {
      const known = categories.find((k) => k.name === c.name);
      if (known && !samePrompt(known.prompt, c.prompt)) {
        throw new DataArgumentError(
          `category "${c.name}" has different prompts in ${known.from} and ${part.dir}; one pooled caption cannot hold both. Give the categories distinct names or the same prompt.`,
          { details: { file: join(part.dir, ANNOTATIONS_FILE), field: `categories.${c.name}.prompt` } },
        );
      }
      if (known) catMap.set(c.id, known.id);
      else {
        const id = categories.length + 1;
        categories.push({ id, name: c.name, prompt: c.prompt, from: part.dir });
        catMap.set(c.id, id);
      }
    }
    const n = ds.images.length;
    const keep = part.limit !== undefined && part.limit < n ? randomShotIndices(n, part.limit, mixSeed(options.seed, hashString(part.name))) : ds.images.map((_, i) => i);
    const rawById = new Map(raw.images.map((im) => [im.id as number, im]));
    const idMap = new Map<number, number>();
    mkdirSync(join(out, "images", part.name), { recursive: true });
    for (const i of keep) {
      const im = ds.images[i];
      const id = images.length + 1;
      const fileName = `images/${part.name}/${String(i + 1).padStart(6, "0")}${extname(im.file_name)}`;
      const target = join(out, fileName);
      // Replaced, not kept: a file left by an earlier pool of another recipe may differ.
      rmSync(target, { force: true });
      linkOrCopy(join(part.dir, im.file_name), target);
      // Captioned by its own part's classes: pooled tasks each keep their own prompt.
      const captionCategories = [...new Set((im.caption_categories ?? ds.categories.map((c) => c.id)).map((c) => catMap.get(c)!))];
      images.push({ ...rawById.get(im.id), id, file_name: fileName, source: `${part.name}/${im.file_name}`, caption_categories: captionCategories });
      idMap.set(im.id, id);
    }
    for (const a of raw.annotations) {
      const imageId = idMap.get(a.image_id as number);
      if (imageId === undefined) continue;
      annotations.push({ ...a, id: annotations.length + 1, image_id: imageId, category_id: catMap.get(a.category_id as number) });
    }
    perPart[part.name] = keep.length;
  }
  const doc = {
    info: { description: `pool of ${parts.map((p) => p.name).join(", ")}`, medfcl_merge: recipe, per_part: perPart },
    images,
    annotations,
    categories: categories.map(({ id, name, prompt }) => ({ id, name, prompt })),
  };
  writeFileAtomicSync(annFile, `${JSON.stringify(doc)}\n`);
  return { dir: out, images: images.length, perPart, written: true };
}
