import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeBmp, loadCocoDataset, mixSeed, mulberry32, type CocoDataset } from "../../../services/data/index.js";
import type { CocoDetection } from "../../../services/eval/types.js";
import { tempDir } from "../../helpers/temp.js";

/**
 * A toy grounded-detection dataset: textured reddish "mucosa" with 1–2 yellow-pink ellipses
 * ("bumps"), written as BMP + COCO JSON so it goes through the real loader.
 */
export async function makeToyDataset(opts: { images: number; seed: number; width?: number; height?: number }): Promise<CocoDataset> {
  const dir = tempDir("medfcl-model-");
  mkdirSync(join(dir, "images"));
  const w = opts.width ?? 96;
  const h = opts.height ?? 80;
  const images = [];
  const annotations = [];
  let annId = 1;
  for (let i = 0; i < opts.images; i++) {
    const rng = mulberry32(mixSeed(opts.seed, i));
    const data = new Uint8Array(w * h * 3);
    for (let p = 0; p < w * h; p++) {
      const n = rng() * 40;
      data[3 * p] = 120 + n;
      data[3 * p + 1] = 50 + n * 0.5;
      data[3 * p + 2] = 60 + n * 0.5;
    }
    const count = 1 + Math.floor(rng() * 2);
    for (let k = 0; k < count; k++) {
      const rx = 8 + rng() * 14;
      const ry = 8 + rng() * 12;
      const cx = rx + rng() * (w - 2 * rx);
      const cy = ry + rng() * (h - 2 * ry);
      for (let y = Math.floor(cy - ry); y <= Math.ceil(cy + ry); y++) {
        for (let x = Math.floor(cx - rx); x <= Math.ceil(cx + rx); x++) {
          if (x < 0 || y < 0 || x >= w || y >= h) continue;
          if (((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 > 1) continue;
          const p = y * w + x;
          data[3 * p] = 240;
          data[3 * p + 1] = 210;
          data[3 * p + 2] = 110;
        }
      }
      const x1 = Math.max(0, cx - rx);
      const y1 = Math.max(0, cy - ry);
      const bw = Math.min(w, cx + rx) - x1;
      const bh = Math.min(h, cy + ry) - y1;
      annotations.push({ id: annId++, image_id: i + 1, category_id: 1, bbox: [x1, y1, bw, bh], area: bw * bh, iscrowd: 0 });
    }
    const file = `images/${i + 1}.bmp`;
    writeFileSync(join(dir, file), encodeBmp({ width: w, height: h, data }));
    images.push({ id: i + 1, file_name: file, width: w, height: h });
  }
  const categories = [{ id: 1, name: "polyp", prompt: { prefix: "", name: "pink yellow oval bump", suffix: " in rectum" } }];
  writeFileSync(join(dir, "annotations.json"), JSON.stringify({ images, annotations, categories }));
  return loadCocoDataset(dir);
}

function iou(a: number[], b: number[]): number {
  const iw = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  return (iw * ih) / (a[2] * a[3] + b[2] * b[3] - iw * ih);
}

/** COCO-style AP at IoU 0.5 (101-point interpolation, up to 100 detections per image), averaged over categories. */
export function ap50(ds: CocoDataset, dets: CocoDetection[]): number {
  const aps: number[] = [];
  for (const cat of ds.categories) {
    const gts = ds.annotations.filter((a) => a.category_id === cat.id);
    if (gts.length === 0) continue;
    const byImage = new Map<number, { box: number[]; used: boolean }[]>();
    for (const g of gts) {
      const l = byImage.get(g.image_id) ?? [];
      l.push({ box: g.bbox, used: false });
      byImage.set(g.image_id, l);
    }
    const perImage = new Map<number, CocoDetection[]>();
    for (const d of dets.filter((x) => x.category_id === cat.id)) {
      const l = perImage.get(d.image_id) ?? [];
      l.push(d);
      perImage.set(d.image_id, l);
    }
    const ds2: CocoDetection[] = [];
    for (const l of perImage.values()) ds2.push(...l.sort((a, b) => b.score - a.score).slice(0, 100));
    ds2.sort((a, b) => b.score - a.score);
    const tp: number[] = [];
    for (const d of ds2) {
      const g = byImage.get(d.image_id) ?? [];
      let best = -1;
      let bestIou = 0.5;
      g.forEach((x, i) => {
        if (x.used) return;
        const v = iou(d.bbox, x.box);
        if (v >= bestIou) {
          bestIou = v;
          best = i;
        }
      });
      if (best >= 0) g[best].used = true;
      tp.push(best >= 0 ? 1 : 0);
    }
    const prec: number[] = [];
    const rec: number[] = [];
    let c = 0;
    tp.forEach((t, i) => {
      c += t;
      prec.push(c / (i + 1));
      rec.push(c / gts.length);
    });
    for (let i = prec.length - 2; i >= 0; i--) prec[i] = Math.max(prec[i], prec[i + 1]);
    let s = 0;
    for (let r = 0; r <= 100; r++) {
      const idx = rec.findIndex((x) => x >= r / 100);
      s += idx >= 0 ? prec[idx] : 0;
    }
    aps.push(s / 101);
  }
  return aps.reduce((a, b) => a + b, 0) / Math.max(aps.length, 1);
}

/** max |a − b| / max |b|: how the gradient tests compare a custom gradient with a reference. */
export function relToMax(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / Math.max(m, 1e-12);
}

/** Seeded uniform values in [−1, 1) (an LCG), for gradient test inputs. */
export function lcgValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}
