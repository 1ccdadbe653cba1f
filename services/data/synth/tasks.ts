import { type Rng, gaussian, randInt, uniform } from "../prng.js";
import { blobExtent, boxesOverlap, drawBlob, randomBlob, type BlobShape } from "./blob.js";
import { type Frame } from "./endoscopy.js";
import { type Rgb, clamp01, createCanvas, drawText, fbm, valueNoise } from "./raster.js";

type Box = [number, number, number, number];

function placeBlob(rng: Rng, w: number, h: number, r: number, taken: Box[], aspect: [number, number], wobble: number, margin = 0.05): BlobShape | null {
  for (let attempt = 0; attempt < 25; attempt++) {
    const s = randomBlob(rng, uniform(rng, margin, 1 - margin) * w, uniform(rng, margin, 1 - margin) * h, r, aspect, wobble);
    const e = blobExtent(s) * 1.05;
    const rect: Box = [s.cx - e, s.cy - e, 2 * e, 2 * e];
    if (rect[0] < 1 || rect[1] < 1 || rect[0] + rect[2] > w - 1 || rect[1] + rect[3] > h - 1) continue;
    if (taken.some((t) => boxesOverlap(t, rect, 1))) continue;
    return s;
  }
  return null;
}

/** Blood smear (BCCD-like): many small pale-red round cells with a lighter centre and a dark rim. */
export function renderCells(w: number, h: number, rng: Rng): Frame {
  const c = createCanvas(w, h);
  const d = c.data;
  const n = fbm(w, h, Math.min(w, h) * 0.3, 2, rng);
  const bgc: Rgb = [uniform(rng, 0.86, 0.95), uniform(rng, 0.8, 0.88), uniform(rng, 0.72, 0.82)];
  for (let i = 0; i < w * h; i++) {
    const k = 0.95 + 0.1 * n[i];
    d[i * 3] = bgc[0] * k;
    d[i * 3 + 1] = bgc[1] * k;
    d[i * 3 + 2] = bgc[2] * k;
  }
  const m = Math.min(w, h);
  const boxes: Box[] = [];
  const count = randInt(rng, 8, 22);
  const cell: Rgb = [uniform(rng, 0.75, 0.85), uniform(rng, 0.35, 0.45), uniform(rng, 0.4, 0.5)];
  const stain: Rgb = [0.42, 0.22, 0.58];
  for (let k = 0; k < count; k++) {
    const r = uniform(rng, 0.035, 0.06) * m;
    const s = placeBlob(rng, w, h, r, boxes, [0.85, 1.2], 0.04);
    if (!s) continue;
    // About one cell in six is a stained white cell with a dark purple nucleus.
    const white = rng() < 0.17;
    const box = drawBlob(c, s, (o, u, v, dd, alpha) => {
      if (alpha <= 0) return;
      const rr = Math.sqrt(u * u + v * v);
      let col: Rgb;
      if (white) {
        const nucleus = Math.sin(3 * Math.atan2(v, u)) * 0.15 + 0.55 > rr;
        col = nucleus ? stain : [0.82, 0.72, 0.8];
      } else {
        // Biconcave disc: pale centre, darker rim.
        const k2 = rr < 0.45 ? 1.18 : rr > 0.8 ? 0.82 : 1;
        col = [cell[0] * k2, cell[1] * k2, cell[2] * k2];
      }
      for (let ch = 0; ch < 3; ch++) d[o + ch] += (col[ch] - d[o + ch]) * alpha;
    }, 1);
    if (box) boxes.push(box);
  }
  for (let i = 0; i < d.length; i++) d[i] = clamp01(d[i] + (rng() - 0.5) * 0.03);
  return { canvas: c, boxes };
}

/** Thyroid ultrasound (TN3K-like): speckled grey sector with a dark oval nodule. */
export function renderUltrasound(w: number, h: number, rng: Rng): Frame {
  const c = createCanvas(w, h);
  const d = c.data;
  const tissue = fbm(w, h, Math.min(w, h) * 0.2, 3, rng);
  const apexX = w / 2;
  const apexY = -0.15 * h;
  const half = uniform(rng, 0.5, 0.62);
  const maxR = 1.12 * h;
  const inSector = (x: number, y: number): boolean => {
    const dx = x - apexX;
    const dy = y - apexY;
    const r = Math.hypot(dx, dy);
    return r > 0.2 * h && r < maxR && Math.abs(Math.atan2(dx, dy)) < half;
  };
  const layers = uniform(rng, 0.15, 0.3) * h;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const dist = Math.hypot(x - apexX, y - apexY);
      const band = 0.4 + 0.25 * Math.sin(dist / layers + 3 * tissue[i]);
      const base = (0.35 + 0.4 * tissue[i]) * band * 1.6 * (1 - 0.45 * (dist / maxR));
      d[i * 3] = base;
      d[i * 3 + 1] = base;
      d[i * 3 + 2] = base;
    }
  }
  const boxes: Box[] = [];
  const r = uniform(rng, 0.1, 0.2) * Math.min(w, h);
  for (let attempt = 0; attempt < 20 && boxes.length === 0; attempt++) {
    const s = randomBlob(rng, uniform(rng, 0.35, 0.65) * w, uniform(rng, 0.35, 0.7) * h, r, [1.1, 1.8], 0.08, 0.1);
    const e = blobExtent(s);
    if (!inSector(s.cx - e, s.cy - e) || !inSector(s.cx + e, s.cy + e) || !inSector(s.cx - e, s.cy + e) || !inSector(s.cx + e, s.cy - e)) continue;
    const dark = uniform(rng, 0.2, 0.4);
    const box = drawBlob(c, s, (o, _u, _v, dd, alpha) => {
      // A bright halo just outside the edge, a hypoechoic interior inside.
      const k = dd > 1 ? 1 + 0.5 * (1 - (dd - 1) / 0.25) : 1 - (1 - dark) * alpha;
      for (let ch = 0; ch < 3; ch++) d[o + ch] *= k;
    });
    if (box) boxes.push(box);
  }
  // Multiplicative speckle (Rayleigh-like) over everything in the sector, black outside.
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      let v = 0;
      if (inSector(x, y)) {
        const g1 = gaussian(rng);
        const g2 = gaussian(rng);
        v = clamp01(d[o] * 0.75 * Math.sqrt(g1 * g1 + g2 * g2));
      }
      d[o] = v;
      d[o + 1] = v;
      d[o + 2] = v;
    }
  }
  const px = Math.max(1, Math.round(h / 220));
  drawText(c, `${randInt(rng, 5, 14)}MHZ`, 3, 3, px, [0.8, 0.8, 0.8]);
  drawText(c, `D ${randInt(rng, 3, 6)}.${randInt(rng, 0, 9)}CM`, 3, 3 + 9 * px, px, [0.8, 0.8, 0.8]);
  return { canvas: c, boxes };
}

/** Foot photo (DFUC-like): skin with an irregular red/yellow wound and a pale callus rim. */
export function renderUlcer(w: number, h: number, rng: Rng): Frame {
  const c = createCanvas(w, h);
  const d = c.data;
  const tone = uniform(rng, 0.35, 1);
  const skin: Rgb = [0.55 + 0.35 * tone, 0.38 + 0.32 * tone, 0.28 + 0.3 * tone];
  const n = fbm(w, h, Math.min(w, h) * 0.25, 3, rng);
  const fine = valueNoise(w, h, Math.max(2, Math.min(w, h) * 0.02), rng);
  const gx = uniform(rng, -0.3, 0.3);
  const gy = uniform(rng, -0.3, 0.3);
  const drape: Rgb = [0.2, 0.35 + 0.2 * rng(), 0.45];
  const footEdge = uniform(rng, 0.05, 0.2);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const light = 0.85 + gx * (x / w - 0.5) + gy * (y / h - 0.5) + 0.2 * (n[i] - 0.5);
      const onFoot = x / w > footEdge + 0.08 * n[i];
      const col = onFoot ? skin : drape;
      const t = 1 + 0.08 * (fine[i] - 0.5);
      d[i * 3] = col[0] * light * t;
      d[i * 3 + 1] = col[1] * light * t;
      d[i * 3 + 2] = col[2] * light * t;
    }
  }
  const boxes: Box[] = [];
  const count = rng() < 0.25 ? 2 : 1;
  for (let k = 0; k < count; k++) {
    const r = uniform(rng, 0.08, 0.2) * Math.min(w, h);
    const s = placeBlob(rng, w, h, r, boxes, [0.6, 1.6], 0.2, Math.min(0.45, footEdge + 0.2));
    if (!s) continue;
    const box = drawBlob(c, s, (o, _u, _v, dd, alpha) => {
      const i = o / 3;
      if (dd > 1) {
        const k2 = 0.35 * (1 - (dd - 1) / 0.25);
        for (let ch = 0; ch < 3; ch++) d[o + ch] += (0.92 - d[o + ch]) * k2;
        return;
      }
      const slough = fine[i] > 0.62;
      const col: Rgb = slough ? [0.85, 0.75, 0.35] : [0.7 + 0.2 * n[i], 0.12 + 0.1 * fine[i], 0.12];
      for (let ch = 0; ch < 3; ch++) d[o + ch] += (col[ch] - d[o + ch]) * alpha;
    });
    if (box) boxes.push(box);
  }
  for (let i = 0; i < d.length; i++) d[i] = clamp01(d[i] + (rng() - 0.5) * 0.02);
  return { canvas: c, boxes };
}

/** Axial brain MRI slice (grey): skull ring, textured brain and one bright round tumour. */
export function renderMri(w: number, h: number, rng: Rng): Frame {
  const c = createCanvas(w, h);
  const d = c.data;
  const n = fbm(w, h, Math.min(w, h) * 0.08, 3, rng);
  const cx = w / 2 + uniform(rng, -0.03, 0.03) * w;
  const cy = h / 2 + uniform(rng, -0.03, 0.03) * h;
  const ax = uniform(rng, 0.36, 0.42) * w;
  const ay = uniform(rng, 0.42, 0.47) * h;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const rr = Math.hypot((x - cx) / ax, (y - cy) / ay);
      let v = 0.02;
      if (rr < 1) {
        if (rr > 0.93) v = 0.85;
        else if (rr > 0.88) v = 0.12;
        else {
          // Gyri as iso-bands of the noise, white matter brighter towards the centre.
          const gyri = Math.sin(n[i] * 28) > 0.3 ? 0.55 : 0.38;
          v = gyri + 0.12 * (1 - rr);
          const vent = Math.hypot((x - cx) / (0.1 * w), (y - cy) / (0.2 * h));
          if (vent < 1) v = 0.1;
        }
      }
      d[i * 3] = v;
      d[i * 3 + 1] = v;
      d[i * 3 + 2] = v;
    }
  }
  const boxes: Box[] = [];
  for (let attempt = 0; attempt < 20 && boxes.length === 0; attempt++) {
    const r = uniform(rng, 0.05, 0.12) * Math.min(w, h);
    const ang = uniform(rng, 0, 2 * Math.PI);
    const dist = uniform(rng, 0.3, 0.65);
    const s = randomBlob(rng, cx + Math.cos(ang) * dist * ax, cy + Math.sin(ang) * dist * ay, r, [0.8, 1.3], 0.1);
    const e = blobExtent(s);
    if (Math.hypot((Math.abs(s.cx - cx) + e) / ax, (Math.abs(s.cy - cy) + e) / ay) > 0.85) continue;
    const necrotic = rng() < 0.5;
    const box = drawBlob(c, s, (o, u, v, dd, alpha) => {
      if (dd > 1) {
        // Oedema: a faint darker ring.
        for (let ch = 0; ch < 3; ch++) d[o + ch] *= 0.85;
        return;
      }
      const core = necrotic && Math.hypot(u, v) < 0.45;
      const col = core ? 0.3 : 0.95;
      for (let ch = 0; ch < 3; ch++) d[o + ch] += (col - d[o + ch]) * alpha;
    });
    if (box) boxes.push(box);
  }
  for (let i = 0; i < d.length; i++) d[i] = clamp01(d[i] + gaussian(rng) * 0.015);
  return { canvas: c, boxes };
}
