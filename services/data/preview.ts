import { existsSync } from "node:fs";
import { join } from "node:path";
import sharp, { type OverlayOptions } from "sharp";
import { writeFileAtomic } from "../store/index.js";
import { loadCocoDataset } from "./coco.js";
import { DataArgumentError } from "./errors.js";
import { sharpFromFile } from "./image.js";
import { mapLimit } from "./pool.js";
import { SUITE_FILE, readSuiteIndex } from "./synth/suite.js";
import { type CocoDataset } from "./types.js";

export interface PreviewOptions {
  /** Thumbnail side in pixels. */
  thumb: number;
  /** Images per row (per domain row for a suite). */
  perRow: number;
  /** At most this many images for a single dataset (rows = ceil(max / perRow)). */
  maxImages: number;
}

export function defaultPreviewOptions(): PreviewOptions {
  return { thumb: 192, perRow: 6, maxImages: 24 };
}

const PALETTE = ["#00ff66", "#ffd400", "#00c8ff", "#ff4df0", "#ff7b00", "#b0ff00"];
const GAP = 4;
const LABEL_H = 22;

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function textSvg(width: number, height: number, text: string, size: number, color = "#ffffff"): Buffer {
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><text x="4" y="${Math.round(height * 0.75)}" font-family="DejaVu Sans, sans-serif" font-size="${size}" fill="${color}">${esc(text)}</text></svg>`,
  );
}

/** One thumbnail: the image fitted into thumb×thumb, with its boxes and category names drawn. */
async function thumbnail(ds: CocoDataset, index: number, thumb: number): Promise<Buffer> {
  const im = ds.images[index];
  const scale = thumb / Math.max(im.width, im.height);
  const tw = Math.max(1, Math.round(im.width * scale));
  const th = Math.max(1, Math.round(im.height * scale));
  const names = new Map(ds.categories.map((c, i) => [c.id, { name: c.name, color: PALETTE[i % PALETTE.length] }]));
  const shapes = (ds.annotationsByImage.get(im.id) ?? []).map((a) => {
    const [x, y, w, h] = a.bbox.map((v) => v * scale);
    const c = names.get(a.category_id) ?? { name: String(a.category_id), color: "#ffffff" };
    const ty = y > 12 ? y - 3 : y + h + 11;
    return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="none" stroke="${c.color}" stroke-width="2"/><text x="${(x + 1).toFixed(1)}" y="${ty.toFixed(1)}" font-family="DejaVu Sans, sans-serif" font-size="10" fill="${c.color}" stroke="#000" stroke-width="0.4">${esc(c.name)}</text>`;
  });
  const overlay = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${thumb}" height="${thumb}">${shapes.join("")}</svg>`);
  const pipeline = await sharpFromFile(join(ds.dir, im.file_name));
  const body = await pipeline.removeAlpha().toColourspace("srgb").resize(tw, th, { fit: "fill" }).png({ compressionLevel: 1 }).toBuffer();
  return sharp({ create: { width: thumb, height: thumb, channels: 3, background: "#202020" } })
    .composite([{ input: body, left: 0, top: 0 }, { input: overlay, left: 0, top: 0 }])
    .png()
    .toBuffer();
}

interface Row {
  label: string;
  ds: CocoDataset;
  indices: number[];
}

function evenlySpaced(n: number, k: number): number[] {
  const m = Math.min(n, k);
  return Array.from({ length: m }, (_, i) => Math.floor((i * n) / m));
}

/**
 * Renders a contact sheet PNG of a dataset folder, or of a suite folder (one labelled row per
 * domain), with boxes and category names drawn; returns the PNG bytes and writes `out` if given.
 */
export async function renderContactSheet(dir: string, out?: string, options: Partial<PreviewOptions> = {}): Promise<Buffer> {
  const o = { ...defaultPreviewOptions(), ...options };
  if (o.thumb < 32 || o.perRow < 1) throw new DataArgumentError("preview needs thumb >= 32 and perRow >= 1");
  const rows: Row[] = [];
  if (existsSync(join(dir, SUITE_FILE))) {
    const index = readSuiteIndex(dir);
    for (const d of index.domains) {
      const split = d.splits.test;
      const ds = await loadCocoDataset(join(dir, split), { checkImages: "none" });
      rows.push({ label: `${d.name} (${d.task}, ${d.role}, ${split}): "${d.prompt.prefix}${d.prompt.name}${d.prompt.suffix}"`, ds, indices: evenlySpaced(ds.images.length, o.perRow) });
    }
  } else {
    const ds = await loadCocoDataset(dir, { checkImages: "header" });
    const idx = evenlySpaced(ds.images.length, o.maxImages);
    const cats = ds.categories.map((c) => c.name).join(", ");
    for (let r = 0; r * o.perRow < idx.length; r++) {
      rows.push({ label: r === 0 ? `${dir}: ${ds.images.length} images, ${ds.annotations.length} boxes; ${cats}` : "", ds, indices: idx.slice(r * o.perRow, (r + 1) * o.perRow) });
    }
  }
  if (rows.length === 0) throw new DataArgumentError(`${dir} has nothing to preview`);
  const width = o.perRow * (o.thumb + GAP) + GAP;
  const rowH = LABEL_H + o.thumb + GAP;
  const height = rows.length * rowH + GAP;
  const layers: OverlayOptions[] = [];
  for (const [r, row] of rows.entries()) {
    const top = GAP + r * rowH;
    if (row.label) layers.push({ input: textSvg(width, LABEL_H, row.label, 13), left: 0, top });
    const thumbs = await mapLimit(row.indices, 4, (i) => thumbnail(row.ds, i, o.thumb));
    thumbs.forEach((t, k) => layers.push({ input: t, left: GAP + k * (o.thumb + GAP), top: top + LABEL_H }));
  }
  const png = await sharp({ create: { width, height, channels: 3, background: "#101010" } }).composite(layers).png().toBuffer();
  if (out) await writeFileAtomic(out, png);
  return png;
}
