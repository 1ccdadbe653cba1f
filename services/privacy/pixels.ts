/**
 * Pixel operations on a decoded RGB raster. Pure functions over typed arrays so every step can be
 * tested without an encoder; sharp only decodes at the start and encodes at the end.
 */
import { type ExemplarBox, type RelativeRect } from "./types.js";

export interface RgbImage {
  width: number;
  height: number;
  /** width*height*3, row-major RGB. */
  data: Uint8Array;
}

export interface PixelRect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Fractions of the image -> integer pixel rectangle clipped to the image (rounded outward). */
export function toPixelRect(r: RelativeRect, width: number, height: number): PixelRect {
  const x0 = Math.max(0, Math.floor(r.x * width));
  const y0 = Math.max(0, Math.floor(r.y * height));
  const x1 = Math.min(width, Math.ceil((r.x + r.w) * width));
  const y1 = Math.min(height, Math.ceil((r.y + r.h) * height));
  return { x: x0, y: y0, w: Math.max(0, x1 - x0), h: Math.max(0, y1 - y0) };
}

/** Paints the rectangles black; returns the new image and a 0/1 mask of what was painted. */
export function maskRegions(img: RgbImage, rects: PixelRect[]): { image: RgbImage; mask: Uint8Array } {
  const data = new Uint8Array(img.data);
  const mask = new Uint8Array(img.width * img.height);
  for (const r of rects) {
    for (let y = r.y; y < r.y + r.h; y++) {
      for (let x = r.x; x < r.x + r.w; x++) {
        const p = y * img.width + x;
        mask[p] = 1;
        data[p * 3] = 0;
        data[p * 3 + 1] = 0;
        data[p * 3 + 2] = 0;
      }
    }
  }
  return { image: { width: img.width, height: img.height, data }, mask };
}

/** Fraction of a COCO box's pixels covered by the mask. */
export function maskedFraction(mask: Uint8Array, width: number, height: number, bbox: [number, number, number, number]): number {
  const x0 = Math.max(0, Math.floor(bbox[0]));
  const y0 = Math.max(0, Math.floor(bbox[1]));
  const x1 = Math.min(width, Math.ceil(bbox[0] + bbox[2]));
  const y1 = Math.min(height, Math.ceil(bbox[1] + bbox[3]));
  let total = 0;
  let masked = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      total++;
      masked += mask[y * width + x];
    }
  }
  return total === 0 ? 0 : masked / total;
}

/**
 * The bounding rectangle of the rows and columns that hold content: a row or column is content when
 * more than `minContent` of its pixels have some channel above `threshold`. Endoscopes leave black
 * borders and rounded black corners; both fall outside this rectangle. Returns the full image when
 * nothing is bright enough (a black image has no border to speak of).
 */
export function detectContentRect(img: RgbImage, threshold: number, minContent: number): PixelRect {
  const { width, height, data } = img;
  const rowCount = new Uint32Array(height);
  const colCount = new Uint32Array(width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      if (data[i] > threshold || data[i + 1] > threshold || data[i + 2] > threshold) {
        rowCount[y]++;
        colCount[x]++;
      }
    }
  }
  const rowMin = minContent * width;
  const colMin = minContent * height;
  let y0 = 0;
  while (y0 < height && rowCount[y0] <= rowMin) y0++;
  let y1 = height - 1;
  while (y1 > y0 && rowCount[y1] <= rowMin) y1--;
  let x0 = 0;
  while (x0 < width && colCount[x0] <= colMin) x0++;
  let x1 = width - 1;
  while (x1 > x0 && colCount[x1] <= colMin) x1--;
  if (y0 >= height || x0 >= width) return { x: 0, y: 0, w: width, h: height };
  return { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

export function cropImage(img: RgbImage, r: PixelRect): RgbImage {
  const data = new Uint8Array(r.w * r.h * 3);
  for (let y = 0; y < r.h; y++) {
    const src = ((r.y + y) * img.width + r.x) * 3;
    data.set(img.data.subarray(src, src + r.w * 3), y * r.w * 3);
  }
  return { width: r.w, height: r.h, data };
}

/** Union of the boxes grown by `margin` × its longer side, clipped to the image. */
export function roiRect(boxes: ExemplarBox[], margin: number, width: number, height: number): PixelRect | null {
  if (boxes.length === 0) return null;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const b of boxes) {
    x0 = Math.min(x0, b.bbox[0]);
    y0 = Math.min(y0, b.bbox[1]);
    x1 = Math.max(x1, b.bbox[0] + b.bbox[2]);
    y1 = Math.max(y1, b.bbox[1] + b.bbox[3]);
  }
  const pad = margin * Math.max(x1 - x0, y1 - y0);
  const rx0 = Math.max(0, Math.floor(x0 - pad));
  const ry0 = Math.max(0, Math.floor(y0 - pad));
  const rx1 = Math.min(width, Math.ceil(x1 + pad));
  const ry1 = Math.min(height, Math.ceil(y1 + pad));
  if (rx1 <= rx0 || ry1 <= ry0) return null;
  return { x: rx0, y: ry0, w: rx1 - rx0, h: ry1 - ry0 };
}

export interface BoxTransformResult {
  boxes: ExemplarBox[];
  /** Indices (into the input) of boxes that were dropped, with why. */
  dropped: { index: number; reason: string }[];
}

/**
 * Moves boxes into a crop's coordinates and clips them; a box keeping less than `minVisible` of its
 * area is dropped, because a half-visible lesion with a full label teaches the wrong extent.
 */
export function cropBoxes(boxes: ExemplarBox[], crop: PixelRect, minVisible: number): BoxTransformResult {
  const out: ExemplarBox[] = [];
  const dropped: BoxTransformResult["dropped"] = [];
  boxes.forEach((b, index) => {
    const [x, y, w, h] = b.bbox;
    const cx0 = Math.max(x, crop.x);
    const cy0 = Math.max(y, crop.y);
    const cx1 = Math.min(x + w, crop.x + crop.w);
    const cy1 = Math.min(y + h, crop.y + crop.h);
    const area = w * h;
    const kept = Math.max(0, cx1 - cx0) * Math.max(0, cy1 - cy0);
    if (kept <= 0 || area <= 0 || kept / area < minVisible) {
      dropped.push({ index, reason: `box ${index} (category ${b.category_id}) left the crop` });
      return;
    }
    out.push({ bbox: [cx0 - crop.x, cy0 - crop.y, cx1 - cx0, cy1 - cy0], category_id: b.category_id });
  });
  return { boxes: out, dropped };
}

export function scaleBoxes(boxes: ExemplarBox[], sx: number, sy: number): ExemplarBox[] {
  return boxes.map((b) => ({ bbox: [b.bbox[0] * sx, b.bbox[1] * sy, b.bbox[2] * sx, b.bbox[3] * sy], category_id: b.category_id }));
}

/** Target size so the longer side is at most `maxSide`; never upscales. */
export function fitWithin(width: number, height: number, maxSide: number): { width: number; height: number } {
  const s = Math.min(1, maxSide / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) };
}
