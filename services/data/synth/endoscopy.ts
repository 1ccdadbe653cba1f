import { type Rng, randInt, uniform } from "../prng.js";
import { blobExtent, boxesOverlap, drawBlob, randomBlob } from "./blob.js";
import { type Canvas, type Rgb, clamp01, createCanvas, drawText, fbm, fillRect, softSpot, valueNoise } from "./raster.js";

export type BorderKind = "none" | "rounded" | "octagon" | "circle";
export type ColorMode = "white" | "fice" | "stylized";

/** Everything that makes one synthetic endoscopy domain look like its public counterpart. */
export interface PolypStyle {
  mucosa: Rgb;
  polyp: Rgb;
  /** Per-image relative jitter of the mucosa colour. */
  colorJitter: number;
  gain: number;
  vignette: number;
  /** Probability that a dark lumen (the colon's tunnel) is in view. */
  lumen: number;
  folds: number;
  /** Scales the number and strength of specular highlights. */
  specular: number;
  border: BorderKind;
  /** Probability of the green scope-position inset in the lower-left corner (Kvasir). */
  inset: number;
  /** Probability of burned-in text (date, time, device). */
  text: number;
  colorMode: ColorMode;
  /** Probability that an image uses colorMode rather than white light (BKAI mixes WLI and FICE/BLI). */
  modeProb?: number;
  /** Lesion radius as a fraction of the shorter image side. */
  lesionRadius: [number, number];
  lesionCount: [number, number];
  /** 0 = raised dome, 1 = flat (sessile) lesion. */
  flatness: number;
  /** 0 = lesion has the mucosa's colour, 1 = the full polyp colour. */
  contrast: number;
  noise: number;
}

export interface Frame {
  canvas: Canvas;
  boxes: [number, number, number, number][];
}

type Rect = [number, number, number, number];

function visibleFn(kind: BorderKind, w: number, h: number): (x: number, y: number) => boolean {
  switch (kind) {
    case "none":
      return () => true;
    case "rounded": {
      const mx = 0.04 * w;
      const my = 0.03 * h;
      const rc = 0.12 * Math.min(w, h);
      return (x, y) => {
        if (x < mx || x > w - mx || y < my || y > h - my) return false;
        const cx = Math.min(Math.max(x, mx + rc), w - mx - rc);
        const cy = Math.min(Math.max(y, my + rc), h - my - rc);
        return (x - cx) ** 2 + (y - cy) ** 2 <= rc * rc;
      };
    }
    case "octagon": {
      const cut = 0.18 * Math.min(w, h);
      const m = 0.02 * w;
      return (x, y) => x > m && x < w - m && x + y > cut && w - x + y > cut && x + h - y > cut && w - x + h - y > cut;
    }
    case "circle": {
      const r = 0.5 * Math.max(w, h) * 0.92;
      return (x, y) => (x - w / 2) ** 2 + (y - h / 2) ** 2 <= r * r;
    }
  }
}

function applyColorMode(c: Canvas, mode: ColorMode, levels: number): void {
  const d = c.data;
  if (mode === "white") return;
  if (mode === "fice") {
    // FICE / BLI re-weights narrow bands: red mucosa turns cyan-blue, lesions turn brown.
    for (let i = 0; i < d.length; i += 3) {
      const r = d[i];
      const g = d[i + 1];
      const b = d[i + 2];
      d[i] = 0.45 * r + 0.15 * g + 0.02;
      d[i + 1] = 0.55 * r + 0.45 * g + 0.02;
      d[i + 2] = 0.6 * r + 0.2 * g + 0.45 * b + 0.06;
    }
    return;
  }
  // Stylized (SinGAN-like): swapped hues (green-yellow mucosa), boosted saturation, posterized tones.
  for (let i = 0; i < d.length; i += 3) {
    const r = d[i];
    const g = d[i + 1];
    const b = d[i + 2];
    let nr = 1.3 * g;
    let ng = 1.05 * r;
    let nb = 0.4 * b + 0.05;
    const grey = (nr + ng + nb) / 3;
    nr = grey + (nr - grey) * 1.6;
    ng = grey + (ng - grey) * 1.6;
    nb = grey + (nb - grey) * 1.6;
    d[i] = Math.round(clamp01(nr) * levels) / levels;
    d[i + 1] = Math.round(clamp01(ng) * levels) / levels;
    d[i + 2] = Math.round(clamp01(nb) * levels) / levels;
  }
}

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

/** Renders one endoscopy frame with 1..n polyps and returns their tight boxes. */
export function renderPolypFrame(style: PolypStyle, w: number, h: number, rng: Rng): Frame {
  const c = createCanvas(w, h);
  const d = c.data;
  const m = Math.min(w, h);
  const jit = (v: number): number => clamp01(v * (1 + uniform(rng, -style.colorJitter, style.colorJitter)));
  const mucosa: Rgb = [jit(style.mucosa[0]), jit(style.mucosa[1]), jit(style.mucosa[2])];
  const gain = style.gain * uniform(rng, 0.9, 1.1);
  const coarse = fbm(w, h, m * 0.35, 3, rng);
  const fine = valueNoise(w, h, Math.max(2, m * 0.035), rng);
  const hasLumen = rng() < style.lumen;
  const lx = uniform(rng, 0.15, 0.85) * w;
  const ly = uniform(rng, 0.15, 0.85) * h;
  const lumenR = uniform(rng, 0.08, 0.18) * m;
  const foldPeriod = uniform(rng, 0.12, 0.22) * m;
  const halfDiag2 = (w * w + h * h) / 4;
  // Illumination without folds and vessels: a raised lesion occludes those, so it is lit from this.
  const illum = new Float32Array(w * h);

  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const dl = Math.sqrt((x - lx) ** 2 + (y - ly) ** 2);
      const lumenDark = hasLumen ? Math.exp(-((dl / lumenR) ** 2)) : 0;
      const fold = 0.5 + 0.5 * Math.sin((2 * Math.PI * dl) / foldPeriod + 7 * coarse[i]);
      const foldDark = fold * fold * fold * style.folds;
      const r2 = ((x - w / 2) ** 2 + (y - h / 2) ** 2) / halfDiag2;
      illum[i] = gain * (0.8 + 0.45 * (coarse[i] - 0.5)) * (1 - 0.85 * lumenDark) * (1 - style.vignette * r2);
      const light = illum[i] * (1 - 0.3 * foldDark);
      const tex = 1 + 0.12 * (fine[i] - 0.5);
      // Iso-lines of the fine noise read as thin vessels.
      const vessel = Math.abs(fine[i] - 0.5) < 0.012 ? 0.82 : 1;
      d[i * 3] = mucosa[0] * light * tex;
      d[i * 3 + 1] = mucosa[1] * light * tex * vessel;
      d[i * 3 + 2] = mucosa[2] * light * tex * vessel;
    }
  }

  const visible = visibleFn(style.border, w, h);
  const blocked: Rect[] = [];
  const insetOn = rng() < style.inset;
  const insetSide = Math.round(0.22 * h);
  const insetRect: Rect = [Math.round(0.01 * w), h - insetSide - Math.round(0.01 * h), insetSide, insetSide];
  if (insetOn) blocked.push(insetRect);
  const textOn = rng() < style.text;
  const textPx = Math.max(1, Math.round(h / 200));
  const textRect: Rect = [2, 2, 6 * textPx * 11, 9 * textPx * 3];
  if (textOn) blocked.push(textRect);

  const boxes: [number, number, number, number][] = [];
  const count = randInt(rng, style.lesionCount[0], style.lesionCount[1]);
  const [lr, lg, lb] = style.polyp;
  const L = [uniform(rng, -0.5, 0.5), uniform(rng, -0.7, -0.2), 0.75];
  const ln = Math.hypot(L[0], L[1], L[2]);
  L[0] /= ln;
  L[1] /= ln;
  L[2] /= ln;
  const flat = style.flatness;
  const ct = style.contrast * uniform(rng, 0.85, 1.15);
  const lesionColor = [mucosa[0] + (lr - mucosa[0]) * ct, mucosa[1] + (lg - mucosa[1]) * ct, mucosa[2] + (lb - mucosa[2]) * ct];
  for (let k = 0; k < count; k++) {
    for (let attempt = 0; attempt < 30; attempt++) {
      const r = uniform(rng, style.lesionRadius[0], style.lesionRadius[1]) * m;
      const shape = randomBlob(rng, uniform(rng, 0.1, 0.9) * w, uniform(rng, 0.1, 0.9) * h, r, [0.7, 1.5], 0.12, 0.08);
      const ext = blobExtent(shape) * 1.1;
      const rect: Rect = [shape.cx - ext, shape.cy - ext, 2 * ext, 2 * ext];
      let ok = true;
      for (let a = 0; a < 8 && ok; a++) {
        const t = (a / 8) * 2 * Math.PI;
        if (!visible(shape.cx + ext * Math.cos(t), shape.cy + ext * Math.sin(t))) ok = false;
      }
      if (!ok || rect[0] < 0 || rect[1] < 0 || rect[0] + rect[2] > w || rect[1] + rect[3] > h) continue;
      if (blocked.some((b) => boxesOverlap(b, rect, 2))) continue;
      const box = drawBlob(c, shape, (o, u, v, dd, alpha) => {
        if (dd > 1) {
          // The shadow at the base of a raised lesion.
          const k2 = 1 - 0.3 * (1 - flat) * (1 - (dd - 1) / 0.25);
          d[o] *= k2;
          d[o + 1] *= k2;
          d[o + 2] *= k2;
          return;
        }
        const z = Math.sqrt(Math.max(0, 1 - u * u - v * v));
        let nx = u * (1 - flat);
        let ny = v * (1 - flat);
        let nz = z + flat;
        const nn = Math.hypot(nx, ny, nz) || 1;
        nx /= nn;
        ny /= nn;
        nz /= nn;
        const shade = 0.5 + 0.6 * Math.max(0, nx * L[0] + ny * L[1] + nz * L[2]);
        const i = o / 3;
        // Surface pits: the fine noise at a higher frequency, mirrored into ridges.
        const pit = Math.abs(fine[(i * 7) % fine.length] - 0.5);
        const t = (1 + 0.22 * (fine[i] - 0.5)) * (pit < 0.05 ? 0.9 : 1);
        for (let ch = 0; ch < 3; ch++) {
          const les = lesionColor[ch] * illum[i] * shade * t;
          d[o + ch] += (les - d[o + ch]) * alpha;
        }
      });
      if (!box) continue;
      const hl = randInt(rng, 0, Math.round(3 * style.specular));
      for (let s = 0; s < hl; s++) {
        const sx = shape.cx + L[0] * shape.rx * uniform(rng, 0.1, 0.6) + uniform(rng, -0.2, 0.2) * shape.rx;
        const sy = shape.cy + L[1] * shape.ry * uniform(rng, 0.1, 0.6) + uniform(rng, -0.2, 0.2) * shape.ry;
        const sr = Math.max(1, uniform(rng, 0.03, 0.08) * r);
        softSpot(c, sx, sy, sr * uniform(rng, 1, 2.2), sr, [1, 1, 1], 1.2);
      }
      boxes.push(box);
      blocked.push(box);
      break;
    }
  }

  const bg = randInt(rng, 2, Math.round(2 + 8 * style.specular));
  for (let s = 0; s < bg; s++) {
    const sr = Math.max(1, uniform(rng, 0.004, 0.015) * m);
    softSpot(c, uniform(rng, 0, w), uniform(rng, 0, h), sr * uniform(rng, 1, 3), sr, [1, 1, 1], uniform(rng, 0.6, 1.2));
  }

  if (style.noise > 0) {
    for (let i = 0; i < d.length; i++) d[i] += (rng() - 0.5) * 2 * style.noise;
  }
  const modeOn = rng() < (style.modeProb ?? 1);
  applyColorMode(c, modeOn ? style.colorMode : "white", 4);

  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!visible(x + 0.5, y + 0.5)) {
        const o = (y * w + x) * 3;
        d[o] = 0.012;
        d[o + 1] = 0.012;
        d[o + 2] = 0.012;
      }
    }
  }
  if (insetOn) {
    const [ix, iy, is] = insetRect;
    fillRect(c, ix, iy, is, is, [0.02, 0.05, 0.02]);
    // The scope-position guide: a green curve in a dark box.
    const turns = uniform(rng, 0.6, 1.4);
    for (let t = 0; t < 1; t += 0.004) {
      const px = ix + is * (0.2 + 0.6 * t);
      const py = iy + is * (0.5 + 0.3 * Math.sin(2 * Math.PI * turns * t));
      fillRect(c, px - is * 0.03, py - is * 0.03, is * 0.06, is * 0.06, [0.1, 0.75, 0.2]);
    }
  }
  if (textOn) {
    const grey: Rgb = [0.85, 0.85, 0.85];
    const date = `${pad2(randInt(rng, 1, 28))}/${pad2(randInt(rng, 1, 12))}/20${pad2(randInt(rng, 5, 22))}`;
    const time = `${pad2(randInt(rng, 0, 23))}:${pad2(randInt(rng, 0, 59))}:${pad2(randInt(rng, 0, 59))}`;
    drawText(c, date, textRect[0], textRect[1], textPx, grey);
    drawText(c, time, textRect[0], textRect[1] + 9 * textPx, textPx, grey);
    drawText(c, `ID ${randInt(rng, 1000, 9999)}`, textRect[0], textRect[1] + 18 * textPx, textPx, grey);
  }
  for (let i = 0; i < d.length; i++) d[i] = clamp01(d[i]);
  return { canvas: c, boxes };
}
