import { readFile } from "node:fs/promises";
import { ErrorCode } from "../errors/index.js";
import { EvalInputError, ReportError } from "./errors.js";
import { IOU_THRESHOLDS, MAX_DETS } from "./coco.js";
import { type CocoDetection, type CocoGt } from "./types.js";

const MAX_LISTED = 5;

function isNum(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

function isBbox(v: unknown): v is [number, number, number, number] {
  return Array.isArray(v) && v.length === 4 && v.every(isNum);
}

function fail(source: string, problems: string[], total: number): never {
  const more = total > problems.length ? ` (and ${total - problems.length} more)` : "";
  throw new EvalInputError(`${source}: ${problems.join("; ")}${more}. Fix the file and run again.`, {
    details: { file: source, problems: total },
  });
}

/** Collects up to MAX_LISTED problems and throws them together, so one run shows what to fix. */
class Problems {
  list: string[] = [];
  total = 0;
  add(p: string): void {
    this.total++;
    if (this.list.length < MAX_LISTED) this.list.push(p);
  }
}

/**
 * Validates a COCO ground-truth object (as parsed from JSON). `source` names the file in errors,
 * which point at the record index, id and field.
 */
export function parseCocoGt(json: unknown, source = "ground truth"): CocoGt {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    fail(source, ["expected a COCO dataset object with images, annotations and categories"], 1);
  }
  const o = json as Record<string, unknown>;
  const pr = new Problems();
  const images = o.images;
  const categories = o.categories;
  const annotations = o.annotations ?? [];
  if (!Array.isArray(images)) pr.add(`"images" must be an array`);
  if (!Array.isArray(categories)) pr.add(`"categories" must be an array`);
  if (!Array.isArray(annotations)) pr.add(`"annotations" must be an array`);
  if (pr.total > 0) fail(source, pr.list, pr.total);
  (images as unknown[]).forEach((im, i) => {
    if (typeof im !== "object" || im === null || !isNum((im as { id?: unknown }).id)) pr.add(`images[${i}]: "id" must be a number`);
  });
  (categories as unknown[]).forEach((c, i) => {
    if (typeof c !== "object" || c === null || !isNum((c as { id?: unknown }).id)) pr.add(`categories[${i}]: "id" must be a number`);
  });
  (annotations as unknown[]).forEach((a, i) => {
    if (typeof a !== "object" || a === null) {
      pr.add(`annotations[${i}]: must be an object`);
      return;
    }
    const r = a as Record<string, unknown>;
    const where = `annotations[${i}]${isNum(r.id) ? ` (id ${r.id})` : ""}`;
    for (const f of ["id", "image_id", "category_id"] as const) if (!isNum(r[f])) pr.add(`${where}: "${f}" must be a number`);
    if (!isBbox(r.bbox)) pr.add(`${where}: "bbox" must be [x, y, w, h] with 4 finite numbers`);
    if (!isNum(r.area)) pr.add(`${where}: "area" must be a finite number (the COCO area ranges use it)`);
    if (r.iscrowd !== undefined && r.iscrowd !== 0 && r.iscrowd !== 1 && typeof r.iscrowd !== "boolean") {
      pr.add(`${where}: "iscrowd" must be 0 or 1`);
    }
  });
  if (pr.total > 0) fail(source, pr.list, pr.total);
  return { images: images as CocoGt["images"], annotations: annotations as CocoGt["annotations"], categories: categories as CocoGt["categories"] };
}

/** Validates a COCO results list: `[{image_id, category_id, bbox: [x,y,w,h], score}]`. */
export function parseDetections(json: unknown, source = "detections"): CocoDetection[] {
  if (!Array.isArray(json)) fail(source, ["expected a JSON array of {image_id, category_id, bbox, score}"], 1);
  const pr = new Problems();
  const list = json as unknown[];
  for (let i = 0; i < list.length; i++) {
    const r = list[i] as Record<string, unknown> | null;
    if (typeof r !== "object" || r === null) {
      pr.add(`[${i}]: must be an object`);
      continue;
    }
    if (!isNum(r.image_id)) pr.add(`[${i}]: "image_id" must be a number`);
    if (!isNum(r.category_id)) pr.add(`[${i}]: "category_id" must be a number`);
    if (!isBbox(r.bbox)) pr.add(`[${i}]: "bbox" must be [x, y, w, h] with 4 finite numbers`);
    if (!isNum(r.score)) pr.add(`[${i}]: "score" must be a finite number`);
  }
  if (pr.total > 0) fail(source, pr.list, pr.total);
  return list as CocoDetection[];
}

/** Reads and parses a JSON file; a missing file is NOT_FOUND, bad JSON is INVALID_ARGUMENT, both naming the file. */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ReportError(ErrorCode.NotFound, `cannot read ${path}: ${(err as Error).message}`, { details: { file: path }, cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new EvalInputError(`${path} is not valid JSON: ${(err as Error).message}`, { details: { file: path }, cause: err });
  }
}

export async function loadCocoGtFile(path: string): Promise<CocoGt> {
  return parseCocoGt(await readJsonFile(path), path);
}

export async function loadDetectionsFile(path: string): Promise<CocoDetection[]> {
  return parseDetections(await readJsonFile(path), path);
}

/** Python's '{:0.3f}': round half to even on exact ties (toFixed rounds them up). */
export function formatFixed3(x: number): string {
  const s16 = x * 16;
  // A 3-decimal tie is exactly representable only when x*16 is an odd integer.
  if (Number.isInteger(s16) && Math.abs(s16) % 2 === 1) {
    const scaled = x * 1000;
    let n = Math.floor(scaled);
    if (n % 2 !== 0) n += 1;
    return (n / 1000).toFixed(3);
  }
  return x.toFixed(3);
}

/** The 12-line summary exactly as pycocotools' `COCOeval.summarize()` prints it for bbox. */
export function formatCocoSummary(stats: number[]): string {
  const last = MAX_DETS[MAX_DETS.length - 1];
  const iouAll = `${IOU_THRESHOLDS[0].toFixed(2)}:${IOU_THRESHOLDS[IOU_THRESHOLDS.length - 1].toFixed(2)}`;
  const rows: [boolean, string, string, number][] = [
    [true, iouAll, "all", last],
    [true, "0.50", "all", last],
    [true, "0.75", "all", last],
    [true, iouAll, "small", last],
    [true, iouAll, "medium", last],
    [true, iouAll, "large", last],
    [false, iouAll, "all", MAX_DETS[0]],
    [false, iouAll, "all", MAX_DETS[1]],
    [false, iouAll, "all", last],
    [false, iouAll, "small", last],
    [false, iouAll, "medium", last],
    [false, iouAll, "large", last],
  ];
  return rows
    .map(([isAp, iou, area, md], i) => {
      const title = (isAp ? "Average Precision" : "Average Recall").padEnd(18);
      const type = isAp ? "(AP)" : "(AR)";
      return ` ${title} ${type} @[ IoU=${iou.padEnd(9)} | area=${area.padStart(6)} | maxDets=${String(md).padStart(3)} ] = ${formatFixed3(stats[i])}`;
    })
    .join("\n");
}
