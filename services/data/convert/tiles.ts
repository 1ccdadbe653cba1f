/**
 * Cutting converted images into a grid of tiles, for sets whose images hold hundreds of small
 * objects (MoNuSeg: 1000x1000 H&E tiles with 300-800 nuclei each). Letterboxed to a 256-320 px
 * input, a whole image shrinks its nuclei to 2-4 px, and COCO evaluation scores at most 100
 * detections per image (maxDets), so recall is capped whatever the model does. A 4x4 grid keeps the
 * nuclei at their own size and about 30 per tile.
 */
import { basename, extname } from "node:path";
import { DataArgumentError } from "../errors.js";
import type { ConvertedBox, ConvertedImage } from "./converted.js";

export interface TileOptions {
  rows: number;
  cols: number;
  /**
   * A box cut by a tile edge stays an object when at least this fraction of its area is inside the
   * tile (default 0.25). A smaller piece is a sliver: written as an ignore region (COCO iscrowd = 1),
   * so neither training nor evaluation counts a detection on it either way.
   */
  minVisible?: number;
}

export const DEFAULT_TILE_MIN_VISIBLE = 0.25;

/** Parses "4x4" (rows x cols). */
export function parseTileSpec(spec: string, minVisible?: number): TileOptions {
  const m = /^(\d+)x(\d+)$/.exec(spec.trim());
  const rows = Number(m?.[1]);
  const cols = Number(m?.[2]);
  if (!m || rows < 1 || cols < 1 || rows * cols < 2) throw new DataArgumentError(`--tile must be ROWSxCOLS with at least two tiles (e.g. 4x4), got "${spec}"`);
  if (minVisible !== undefined && !(minVisible > 0 && minVisible <= 1)) throw new DataArgumentError(`--tile-min-visible must be a fraction in (0, 1], got ${minVisible}`);
  return { rows, cols, ...(minVisible === undefined ? {} : { minVisible }) };
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000;

/** Edges of `n` near-equal parts of `size` pixels (integers). */
function edges(size: number, n: number): number[] {
  return Array.from({ length: n + 1 }, (_, k) => Math.round((k * size) / n));
}

/**
 * One image per tile: boxes clipped to the tile and shifted into it; slivers (less than
 * `minVisible` of a box inside) become ignore regions. Tile r,c of `a.jpeg` is `a_r{r}c{c}.png`,
 * and its record names `source_image` (the original's id), so splits can keep an image's tiles
 * together.
 */
export function tileImages(images: ConvertedImage[], o: TileOptions): { images: ConvertedImage[]; notes: string[] } {
  const minVisible = o.minVisible ?? DEFAULT_TILE_MIN_VISIBLE;
  const out: ConvertedImage[] = [];
  let cut = 0;
  let slivers = 0;
  let kept = 0;
  for (const im of images) {
    if (im.crop) throw new DataArgumentError(`${im.src}: is already a tile; tile each image once`);
    const id = basename(im.src, extname(im.src));
    const xs = edges(im.width, o.cols);
    const ys = edges(im.height, o.rows);
    if (xs.some((v, k) => k > 0 && v <= xs[k - 1]) || ys.some((v, k) => k > 0 && v <= ys[k - 1])) {
      throw new DataArgumentError(`${im.src}: ${im.width}x${im.height} is too small for a ${o.rows}x${o.cols} grid`);
    }
    for (let r = 0; r < o.rows; r++) {
      for (let c = 0; c < o.cols; c++) {
        const [x0, x1, y0, y1] = [xs[c], xs[c + 1], ys[r], ys[r + 1]];
        const boxes: ConvertedBox[] = [];
        for (const b of im.boxes) {
          const bx1 = Math.max(x0, b.bbox[0]);
          const by1 = Math.max(y0, b.bbox[1]);
          const bx2 = Math.min(x1, b.bbox[0] + b.bbox[2]);
          const by2 = Math.min(y1, b.bbox[1] + b.bbox[3]);
          if (bx2 - bx1 <= 0 || by2 - by1 <= 0) continue;
          const inside = ((bx2 - bx1) * (by2 - by1)) / (b.bbox[2] * b.bbox[3]);
          const whole = inside >= 1 - 1e-9;
          if (!whole) cut++;
          const sliver = !whole && inside < minVisible;
          if (sliver && !b.crowd) slivers++;
          else if (!b.crowd) kept++;
          boxes.push({ bbox: [round3(bx1 - x0), round3(by1 - y0), round3(bx2 - bx1), round3(by2 - by1)], category: b.category, ...(b.crowd || sliver ? { crowd: true } : {}) });
        }
        out.push({
          src: im.src,
          width: x1 - x0,
          height: y1 - y0,
          boxes,
          crop: { left: x0, top: y0, name: `${id}_r${r}c${c}.png` },
          extra: { ...im.extra, source_image: id, tile: [r, c] },
        });
      }
    }
  }
  const notes = [
    `cut each of ${images.length} image(s) into ${o.rows}x${o.cols} tiles (${out.length} tiles, lossless PNG): ${cut} box piece(s) cut by a tile edge; ` +
      `${slivers} sliver(s) with less than ${minVisible * 100}% of their box inside the tile written as ignore regions (iscrowd = 1), ${kept} object box(es) kept`,
  ];
  return { images: out, notes };
}
