import { mulberry32 } from "../data/index.js";
import { type CocoDetection, type CocoGt } from "./types.js";

// One seeded generator for the whole project; re-exported because the bench imports it from here.
export { mulberry32 };

export interface SyntheticCocoOptions {
  images: number;
  detsPerImage: number;
  gtsPerImage: number;
  categories: number;
  seed: number;
}

/**
 * A COCO gt + detections workload for benchmarks: jittered copies of the gts (true positives at
 * various IoUs), random false positives, a few crowd gts, scores rounded to 2 decimals (ties).
 */
export function syntheticCocoWorkload(o: SyntheticCocoOptions): { gt: CocoGt; dt: CocoDetection[] } {
  const rnd = mulberry32(o.seed);
  const gt: CocoGt = { images: [], annotations: [], categories: [] };
  for (let c = 1; c <= o.categories; c++) gt.categories.push({ id: c, name: `c${c}` });
  const dt: CocoDetection[] = [];
  let annId = 1;
  for (let i = 1; i <= o.images; i++) {
    gt.images.push({ id: i, width: 640, height: 480 });
    const boxes: { b: [number, number, number, number]; c: number }[] = [];
    for (let g = 0; g < o.gtsPerImage; g++) {
      const w = 4 + rnd() * 200;
      const h = 4 + rnd() * 200;
      const b: [number, number, number, number] = [rnd() * (640 - w), rnd() * (480 - h), w, h];
      const c = 1 + Math.floor(rnd() * o.categories);
      boxes.push({ b, c });
      gt.annotations.push({ id: annId++, image_id: i, category_id: c, bbox: b, area: w * h, iscrowd: rnd() < 0.02 ? 1 : 0 });
    }
    for (let d = 0; d < o.detsPerImage; d++) {
      const score = Math.round(rnd() * 100) / 100;
      if (boxes.length > 0 && rnd() < 0.5) {
        const src = boxes[Math.floor(rnd() * boxes.length)];
        const j = () => 1 + (rnd() - 0.5) * 0.3;
        const [x, y, w, h] = src.b;
        dt.push({ image_id: i, category_id: rnd() < 0.9 ? src.c : 1 + Math.floor(rnd() * o.categories), bbox: [x * j(), y * j(), w * j(), h * j()], score });
      } else {
        const w = 4 + rnd() * 200;
        const h = 4 + rnd() * 200;
        dt.push({ image_id: i, category_id: 1 + Math.floor(rnd() * o.categories), bbox: [rnd() * (640 - w), rnd() * (480 - h), w, h], score });
      }
    }
  }
  return { gt, dt };
}
