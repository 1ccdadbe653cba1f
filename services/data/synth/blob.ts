import { type Rng, uniform } from "../prng.js";
import { type Canvas } from "./raster.js";

/** A lesion-like closed shape: a rotated ellipse whose radius wobbles with a few low harmonics. */
export interface BlobShape {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
  angle: number;
  harmonics: { k: number; amp: number; phase: number }[];
  /** Soft edge width as a fraction of the radius. */
  edge: number;
}

export function randomBlob(rng: Rng, cx: number, cy: number, r: number, aspect: [number, number], wobble: number, edge = 0.06): BlobShape {
  const a = uniform(rng, aspect[0], aspect[1]);
  return {
    cx,
    cy,
    rx: r * Math.sqrt(a),
    ry: r / Math.sqrt(a),
    angle: uniform(rng, 0, Math.PI),
    harmonics: [2, 3, 5].map((k, i) => ({ k, amp: (wobble * uniform(rng, 0.3, 1)) / (i + 1), phase: uniform(rng, 0, 2 * Math.PI) })),
    edge,
  };
}

/** The largest distance from the centre that the blob can reach, in pixels. */
export function blobExtent(s: BlobShape): number {
  return Math.max(s.rx, s.ry) * (1 + s.harmonics.reduce((acc, h) => acc + Math.abs(h.amp), 0));
}

/**
 * Paint callback for each pixel near the blob. `o` is the canvas offset, (u, v) the pixel in the
 * blob's unit frame, `d` the distance relative to the (wobbly) boundary (1 = on the edge) and
 * `alpha` the soft coverage in [0,1].
 */
export type BlobPaint = (o: number, u: number, v: number, d: number, alpha: number) => void;

/**
 * Visits every pixel with d <= reach and returns the tight box of the pixels with coverage >= 0.5
 * (the annotation), or null if the blob is off the canvas.
 */
export function drawBlob(c: Canvas, s: BlobShape, paint: BlobPaint, reach = 1.25): [number, number, number, number] | null {
  const ext = blobExtent(s) * reach + 2;
  const x0 = Math.max(0, Math.floor(s.cx - ext));
  const x1 = Math.min(c.width - 1, Math.ceil(s.cx + ext));
  const y0 = Math.max(0, Math.floor(s.cy - ext));
  const y1 = Math.min(c.height - 1, Math.ceil(s.cy + ext));
  const cos = Math.cos(s.angle);
  const sin = Math.sin(s.angle);
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -1;
  let maxY = -1;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - s.cx;
      const dy = y + 0.5 - s.cy;
      const u = (dx * cos + dy * sin) / s.rx;
      const v = (-dx * sin + dy * cos) / s.ry;
      const rr = Math.sqrt(u * u + v * v);
      if (rr > reach * 1.6) continue;
      const phi = Math.atan2(v, u);
      let bound = 1;
      for (const h of s.harmonics) bound += h.amp * Math.sin(h.k * phi + h.phase);
      const d = rr / bound;
      if (d > reach) continue;
      const alpha = d <= 1 - s.edge ? 1 : d >= 1 ? 0 : (1 - d) / s.edge;
      if (alpha >= 0.5) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
      paint((y * c.width + x) * 3, u / bound, v / bound, d, alpha);
    }
  }
  if (maxX < 0) return null;
  return [minX, minY, maxX - minX + 1, maxY - minY + 1];
}

export function boxesOverlap(a: readonly number[], b: readonly number[], margin = 0): boolean {
  return a[0] < b[0] + b[2] + margin && b[0] < a[0] + a[2] + margin && a[1] < b[1] + b[3] + margin && b[1] < a[1] + a[3] + margin;
}
