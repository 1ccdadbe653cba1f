import { gaussian, type Rng, randInt, uniform } from "../prng.js";
import { blobExtent, boxesOverlap, drawBlob, randomBlob, type BlobShape } from "./blob.js";
import { type Canvas, type Rgb, clamp01, createCanvas, drawText, fbm, fillRect, softSpot, valueNoise } from "./raster.js";

export type BorderKind = "none" | "rounded" | "octagon" | "circle";
export type ColorMode = "white" | "fice" | "stylized";
/** Paris classification of superficial neoplasia: 0-Ip pedunculated, 0-Is sessile, 0-II flat. */
export type Morphology = "pedunculated" | "sessile" | "flat";

/**
 * The imaging device and its processing chain: what changes when a hospital uses another
 * endoscope, light source or video processor. Colour and contrast are targets that each frame is
 * normalised to (calibrated against real domains, docs/data.md); the rest shape the frame.
 */
export interface DeviceShift {
  /** Mean R, G, B (0–1) of the field of view: light source plus white balance. */
  fieldRgb: Rgb;
  /** Per-frame relative jitter of fieldRgb (automatic white balance drifting). */
  rgbJitter: number;
  /** Standard deviation of grey (0–1) inside the field of view. */
  contrast: number;
  vignette: number;
  /** Probability that the lumen (a dark tunnel) is in view. */
  lumen: number;
  folds: number;
  /** Mucosal micro-texture (0–1.5): sharp optics and high-resolution sensors resolve more of it. */
  texture: number;
  /** Barrel distortion k1 of the wide-angle lens (0 = none). */
  distortion: number;
  /** Sensor noise: Gaussian sigma on the 0–1 scale. */
  noise: number;
  /** Number and strength of specular highlights. */
  specular: number;
  border: BorderKind;
  /** Probability of the green scope-position inset in the lower-left corner (Kvasir). */
  inset: number;
  /** Probability of burned-in text (date, time, patient id). */
  text: number;
  colorMode: ColorMode;
  /** Probability that a frame uses colorMode rather than white light. */
  modeProb: number;
  /**
   * How far a mode frame moves from white light towards the full colour mode (0–1; default 1).
   * Processors mix the narrow bands with white light to different degrees (BKAI's LCI/FICE frames
   * are far milder than the full band re-weighting).
   */
  modeStrength?: number;
}

/** The lesions a site sees: its patient population and referral pattern. */
export interface LesionShift {
  /** Relative frequency of each morphology. */
  morphology: Record<Morphology, number>;
  /** Lesion box side relative to the frame, sqrt(box area / frame area): log-normal median and sigma. */
  sizeMedian: number;
  sizeSigma: number;
  /** Probability of 1, 2, 3, ... lesions in a frame. */
  countProbs: number[];
  /** Lesion colour over the surrounding mucosa's, per channel (real polyps: 1.15–1.3). */
  tint: Rgb;
  /** Surface pit pattern strength (0–1). */
  pits: number;
  /**
   * How much of the mucosa's texture the lesion's surface carries (0: smooth apart from its pits;
   * above 1: rougher than the mucosa, as real polyps with vessels and pit patterns often are).
   * Absent: 0, as generators 2 and 3 draw.
   */
  surfaceTexture?: number;
  /**
   * Spread of surfaceTexture from lesion to lesion: each lesion's is surfaceTexture + this × N(0, 1),
   * at least 0 (real lesions range from smoother to much rougher than their mucosa within one
   * domain). Absent: every lesion has surfaceTexture, as generators 2, 3 and 5 draw.
   */
  surfaceTextureSpread?: number;
}

/** How a site's annotators draw boxes. */
export interface LabelConvention {
  /** Margin added on every side, as a fraction of the lesion's width and height. */
  margin: number;
  /** Whether the box of a pedunculated polyp includes its stalk. */
  stalk: boolean;
  /** Annotator noise: each edge moves by N(0, jitter × side). */
  jitter: number;
}

export interface PolypStyle {
  device: DeviceShift;
  lesion: LesionShift;
  label: LabelConvention;
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
      const cut = 0.16 * Math.min(w, h);
      const m = 0.02 * w;
      return (x, y) => x > m && x < w - m && x + y > cut && w - x + y > cut && x + h - y > cut && w - x + h - y > cut;
    }
    case "circle": {
      const r = 0.5 * Math.max(w, h) * 0.92;
      return (x, y) => (x - w / 2) ** 2 + (y - h / 2) ** 2 <= r * r;
    }
  }
}

function applyColorMode(c: Canvas, mode: ColorMode, levels: number, strength = 1): void {
  const d = c.data;
  if (mode === "white") return;
  if (mode === "fice") {
    // FICE / BLI re-weights narrow bands: red mucosa turns cyan-blue, lesions turn brown.
    // Full strength writes the band values themselves, so generator v2's bytes do not move.
    const mix = (from: number, to: number): number => (strength === 1 ? to : from + strength * (to - from));
    for (let i = 0; i < d.length; i += 3) {
      const r = d[i];
      const g = d[i + 1];
      const b = d[i + 2];
      d[i] = mix(r, 0.45 * r + 0.15 * g + 0.02);
      d[i + 1] = mix(g, 0.55 * r + 0.45 * g + 0.02);
      d[i + 2] = mix(b, 0.6 * r + 0.2 * g + 0.45 * b + 0.06);
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

/** Samples an index from unnormalised weights. */
function pickWeighted(rng: Rng, weights: number[]): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let u = rng() * total;
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i];
    if (u < 0) return i;
  }
  return weights.length - 1;
}

const MORPHOLOGIES: Morphology[] = ["pedunculated", "sessile", "flat"];

/**
 * Shifts every pixel so that the field of view has the device's mean colour and grey contrast
 * (times this frame's jitter): the calibration targets of docs/data.md.
 */
function normaliseField(c: Canvas, visible: Uint8Array, target: Rgb, contrast: number): void {
  const d = c.data;
  const n = c.width * c.height;
  const mean = [0, 0, 0];
  let count = 0;
  let g1 = 0;
  let g2 = 0;
  for (let i = 0; i < n; i++) {
    if (!visible[i]) continue;
    const o = i * 3;
    mean[0] += d[o];
    mean[1] += d[o + 1];
    mean[2] += d[o + 2];
    const g = 0.299 * d[o] + 0.587 * d[o + 1] + 0.114 * d[o + 2];
    g1 += g;
    g2 += g * g;
    count++;
  }
  if (count === 0) return;
  for (let k = 0; k < 3; k++) mean[k] /= count;
  const gm = g1 / count;
  const std = Math.sqrt(Math.max(1e-12, g2 / count - gm * gm));
  const greyTarget = 0.299 * target[0] + 0.587 * target[1] + 0.114 * target[2];
  // One gain for all channels keeps hues; the per-channel offset sets the mean colour.
  const k = contrast / std;
  for (let i = 0; i < n; i++) {
    const o = i * 3;
    for (let ch = 0; ch < 3; ch++) d[o + ch] = target[ch] + (d[o + ch] - mean[ch]) * k * (target[ch] / Math.max(1e-6, greyTarget));
  }
}

/** Barrel distortion: each output pixel samples the undistorted frame farther from the centre. */
function distort(c: Canvas, owners: Int16Array[], k1: number): void {
  if (k1 <= 0) return;
  const { width: w, height: h } = c;
  const src = c.data.slice();
  const srcOwners = owners.map((o) => o.slice());
  const cx = w / 2;
  const cy = h / 2;
  const r2n = cx * cx + cy * cy;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      const f = 1 + (k1 * (dx * dx + dy * dy)) / r2n;
      const sx = cx + dx * f - 0.5;
      const sy = cy + dy * f - 0.5;
      const o = (y * w + x) * 3;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      if (x0 < 0 || y0 < 0 || x0 >= w - 1 || y0 >= h - 1) {
        c.data[o] = 0;
        c.data[o + 1] = 0;
        c.data[o + 2] = 0;
        for (const m of owners) m[y * w + x] = 0;
        continue;
      }
      const tx = sx - x0;
      const ty = sy - y0;
      for (let ch = 0; ch < 3; ch++) {
        const a = src[(y0 * w + x0) * 3 + ch];
        const b = src[(y0 * w + x0 + 1) * 3 + ch];
        const e = src[((y0 + 1) * w + x0) * 3 + ch];
        const f2 = src[((y0 + 1) * w + x0 + 1) * 3 + ch];
        c.data[o + ch] = (a + (b - a) * tx) * (1 - ty) + (e + (f2 - e) * tx) * ty;
      }
      const near = Math.round(sy) * w + Math.round(sx);
      for (const [k, m] of owners.entries()) m[y * w + x] = srcOwners[k][near];
    }
  }
}

/** The tight box of the pixels owned by lesion `id` in any of the maps, or null. */
function ownedBox(maps: Int16Array[], id: number, w: number, h: number): { box: Rect; pixels: number } | null {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -1;
  let maxY = -1;
  let pixels = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!maps.some((m) => m[i] === id)) continue;
      pixels++;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
  }
  return maxX < 0 ? null : { box: [minX, minY, maxX - minX + 1, maxY - minY + 1], pixels };
}

/** Applies a site's labelling convention to a tight box: margin, then annotator noise, clipped to the frame. */
export function conventionBox(tight: Rect, label: LabelConvention, w: number, h: number, rng: Rng): Rect {
  const [x, y, bw, bh] = tight;
  const jx = (): number => gaussian(rng) * label.jitter * bw;
  const jy = (): number => gaussian(rng) * label.jitter * bh;
  let x1 = x - label.margin * bw + jx();
  let x2 = x + bw + label.margin * bw + jx();
  let y1 = y - label.margin * bh + jy();
  let y2 = y + bh + label.margin * bh + jy();
  x1 = Math.max(0, Math.min(w - 1, x1));
  y1 = Math.max(0, Math.min(h - 1, y1));
  x2 = Math.max(x1 + 1, Math.min(w, x2));
  y2 = Math.max(y1 + 1, Math.min(h, y2));
  const r = (v: number): number => Math.round(v * 100) / 100;
  return [r(x1), r(y1), r(x2 - x1), r(y2 - y1)];
}

interface Lesion {
  shape: BlobShape;
  morphology: Morphology;
  /** Stalk from the head's edge to its base on the wall (pedunculated only). */
  stalk?: { x0: number; y0: number; x1: number; y1: number; w0: number; w1: number };
}

/** Paints a tapered stalk and marks its pixels in `owner`. */
function drawStalk(c: Canvas, s: NonNullable<Lesion["stalk"]>, colour: Rgb, illum: Float32Array, owner: Int16Array, id: number): void {
  const { width: w, height: h, data: d } = c;
  const len = Math.hypot(s.x1 - s.x0, s.y1 - s.y0);
  const ux = (s.x1 - s.x0) / len;
  const uy = (s.y1 - s.y0) / len;
  const reach = Math.max(s.w0, s.w1) + 2;
  const xa = Math.max(0, Math.floor(Math.min(s.x0, s.x1) - reach));
  const xb = Math.min(w - 1, Math.ceil(Math.max(s.x0, s.x1) + reach));
  const ya = Math.max(0, Math.floor(Math.min(s.y0, s.y1) - reach));
  const yb = Math.min(h - 1, Math.ceil(Math.max(s.y0, s.y1) + reach));
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      const px = x + 0.5 - s.x0;
      const py = y + 0.5 - s.y0;
      const t = px * ux + py * uy;
      if (t < 0 || t > len) continue;
      const half = (s.w0 + (s.w1 - s.w0) * (t / len)) / 2;
      const dist = Math.abs(px * -uy + py * ux);
      if (dist > half) continue;
      const i = y * w + x;
      // A cylinder lit from the front: bright along its axis, darker at its sides.
      const shade = 0.75 + 0.35 * Math.sqrt(1 - (dist / half) ** 2);
      for (let ch = 0; ch < 3; ch++) d[i * 3 + ch] = colour[ch] * illum[i] * shade;
      owner[i] = id;
    }
  }
}

/** Renders one endoscopy frame with 1..n lesions and returns the boxes a site's annotators would draw. */
export function renderPolypFrame(style: PolypStyle, w: number, h: number, rng: Rng): Frame {
  const dev = style.device;
  const les = style.lesion;
  const c = createCanvas(w, h);
  const d = c.data;
  const m = Math.min(w, h);
  const area = Math.sqrt(w * h);
  const coarse = fbm(w, h, m * 0.35, 3, rng);
  const fine = valueNoise(w, h, Math.max(2, m * 0.03), rng);
  const micro = valueNoise(w, h, Math.max(1, m * 0.009), rng);
  const hasLumen = rng() < dev.lumen;
  const lx = uniform(rng, 0.15, 0.85) * w;
  const ly = uniform(rng, 0.15, 0.85) * h;
  const lumenR = uniform(rng, 0.08, 0.2) * m;
  const foldPeriod = uniform(rng, 0.12, 0.22) * m;
  const halfDiag2 = (w * w + h * h) / 4;
  // The mucosa's grain at pixel i, before the device's texture strength scales it.
  const grain = (i: number): number => 0.18 * (fine[i] - 0.5) + 0.3 * (micro[i] - 0.5);
  // The mucosa's hue before the device's colour calibration: red dominant, as in white light.
  const mucosa: Rgb = [1, 0.56, 0.42];
  // Illumination without folds and texture: a raised lesion occludes those, so it is lit from this.
  const illum = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const dl = Math.sqrt((x - lx) ** 2 + (y - ly) ** 2);
      const lumenDark = hasLumen ? Math.exp(-((dl / lumenR) ** 2)) : 0;
      // Haustral folds: rings around the lumen, broken up by the coarse noise so they never look concentric.
      const fold = 0.5 + 0.5 * Math.sin((2 * Math.PI * dl) / foldPeriod + 14 * coarse[i] + 6 * fine[i]);
      const foldDark = fold ** 4 * dev.folds;
      const r2 = ((x - w / 2) ** 2 + (y - h / 2) ** 2) / halfDiag2;
      illum[i] = (0.8 + 0.8 * (coarse[i] - 0.5)) * (1 - 0.9 * lumenDark) * (1 - dev.vignette * r2);
      const light = illum[i] * (1 - 0.2 * foldDark);
      const tex = 1 + dev.texture * grain(i);
      // Iso-lines of the fine noise read as thin vessels.
      const vessel = Math.abs(fine[i] - 0.5) < 0.012 + 0.01 * dev.texture ? 0.78 : 1;
      d[i * 3] = mucosa[0] * light * tex;
      d[i * 3 + 1] = mucosa[1] * light * tex * vessel;
      d[i * 3 + 2] = mucosa[2] * light * tex * vessel;
    }
  }

  const visible = visibleFn(dev.border, w, h);
  const blocked: Rect[] = [];
  const insetOn = rng() < dev.inset;
  const insetSide = Math.round(0.22 * h);
  const insetRect: Rect = [Math.round(0.01 * w), h - insetSide - Math.round(0.01 * h), insetSide, insetSide];
  if (insetOn) blocked.push(insetRect);
  const textOn = rng() < dev.text;
  const textPx = Math.max(1, Math.round(h / 200));
  const textRect: Rect = [2, 2, 6 * textPx * 11, 9 * textPx * 3];
  if (textOn) blocked.push(textRect);

  const head = new Int16Array(w * h);
  const stalkOwner = new Int16Array(w * h);
  const lesions: Lesion[] = [];
  const count = 1 + pickWeighted(rng, les.countProbs);
  const L = [uniform(rng, -0.5, 0.5), uniform(rng, -0.7, -0.2), 0.75];
  const ln = Math.hypot(L[0], L[1], L[2]);
  L[0] /= ln;
  L[1] /= ln;
  L[2] /= ln;
  const mw = MORPHOLOGIES.map((k) => les.morphology[k]);
  // Highlights saturate the sensor, so they are drawn after the colour calibration.
  const spots: { x: number; y: number; rx: number; ry: number; strength: number }[] = [];
  for (let k = 0; k < count; k++) {
    const morphology = MORPHOLOGIES[pickWeighted(rng, mw)];
    // Box side ≈ 2 r, so r follows the calibrated box-size distribution.
    const side = Math.min(0.8, Math.max(0.04, les.sizeMedian * Math.exp(les.sizeSigma * gaussian(rng))));
    const stalkFrac = morphology === "pedunculated" ? uniform(rng, 0.35, 0.6) : 0;
    const r = (side * area) / 2 / (1 + stalkFrac);
    const flat = morphology === "flat" ? uniform(rng, 0.8, 0.95) : morphology === "sessile" ? uniform(rng, 0.15, 0.4) : uniform(rng, 0, 0.15);
    const wobble = morphology === "flat" ? 0.2 : 0.1;
    for (let attempt = 0; attempt < 60; attempt++) {
      // A frame always shows its lesions: one that does not fit after 20 tries is tried smaller.
      const rr = r * (attempt < 20 ? 1 : 0.8 ** Math.floor((attempt - 15) / 5));
      const shape = randomBlob(rng, uniform(rng, 0.1, 0.9) * w, uniform(rng, 0.1, 0.9) * h, rr, morphology === "flat" ? [0.6, 1.8] : [0.75, 1.35], wobble, morphology === "flat" ? 0.15 : 0.06);
      const ext = blobExtent(shape) * 1.1;
      const theta = uniform(rng, 0, 2 * Math.PI);
      const stalkLen = (stalkFrac * 2 * rr) / (1 - stalkFrac + 1e-9);
      const stalk =
        morphology === "pedunculated"
          ? { x0: shape.cx + Math.cos(theta) * rr * 0.6, y0: shape.cy + Math.sin(theta) * rr * 0.6, x1: shape.cx + Math.cos(theta) * (rr + stalkLen), y1: shape.cy + Math.sin(theta) * (rr + stalkLen), w0: 0.55 * rr, w1: 0.4 * rr }
          : undefined;
      const xs = [shape.cx - ext, shape.cx + ext, ...(stalk ? [stalk.x1 - stalk.w1, stalk.x1 + stalk.w1] : [])];
      const ys = [shape.cy - ext, shape.cy + ext, ...(stalk ? [stalk.y1 - stalk.w1, stalk.y1 + stalk.w1] : [])];
      const rect: Rect = [Math.min(...xs), Math.min(...ys), Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)];
      // A lesion may be cut by the frame's edge, as real ones are, but most of it stays in view.
      let inView = 0;
      for (let a = 0; a < 8; a++) {
        const t = (a / 8) * 2 * Math.PI;
        if (visible(shape.cx + 0.8 * ext * Math.cos(t), shape.cy + 0.8 * ext * Math.sin(t))) inView++;
      }
      if (!visible(shape.cx, shape.cy) || inView < 6 || blocked.some((b) => boxesOverlap(b, rect, 2))) continue;
      lesions.push({ shape, morphology, stalk });
      blocked.push(rect);
      const id = lesions.length;
      const fl = flat;
      const surfaceTexture = les.surfaceTextureSpread === undefined ? (les.surfaceTexture ?? 0) : Math.max(0, (les.surfaceTexture ?? 0) + les.surfaceTextureSpread * gaussian(rng));
      // Flat lesions barely differ from the mucosa; raised ones show the site's calibrated tint.
      const strength = morphology === "flat" ? uniform(rng, 0.35, 0.6) : uniform(rng, 0.8, 1.15);
      const tint: Rgb = [1 + (les.tint[0] - 1) * strength, 1 + (les.tint[1] - 1) * strength, 1 + (les.tint[2] - 1) * strength];
      const lesionColour: Rgb = [mucosa[0] * tint[0], mucosa[1] * tint[1], mucosa[2] * tint[2]];
      if (stalk) drawStalk(c, stalk, [mucosa[0] * (1 + (tint[0] - 1) * 0.6), mucosa[1] * (1 + (tint[1] - 1) * 0.6), mucosa[2] * (1 + (tint[2] - 1) * 0.6)], illum, stalkOwner, id);
      drawBlob(c, shape, (o, u, v, dd, alpha) => {
        const i = o / 3;
        if (dd > 1) {
          // The shadow at the base of a raised lesion.
          const k2 = 1 - 0.3 * (1 - fl) * (1 - (dd - 1) / 0.25);
          d[o] *= k2;
          d[o + 1] *= k2;
          d[o + 2] *= k2;
          return;
        }
        const z = Math.sqrt(Math.max(0, 1 - u * u - v * v));
        let nx = u * (1 - fl);
        let ny = v * (1 - fl);
        let nz = z + fl;
        const nn = Math.hypot(nx, ny, nz) || 1;
        nx /= nn;
        ny /= nn;
        nz /= nn;
        const shade = 0.55 + 0.55 * Math.max(0, nx * L[0] + ny * L[1] + nz * L[2]);
        // Surface pits: the fine noise at a higher frequency, mirrored into ridges.
        const pit = Math.abs(micro[(i * 7) % micro.length] - 0.5);
        const t = (1 + 0.2 * (fine[i] - 0.5)) * (pit < 0.06 ? 1 - 0.25 * les.pits : 1);
        // The mucosa's own grain, carried onto the surface.
        const surface = surfaceTexture === 0 ? 1 : 1 + surfaceTexture * dev.texture * grain(i);
        for (let ch = 0; ch < 3; ch++) {
          const v2 = lesionColour[ch] * illum[i] * shade * t * surface;
          d[o + ch] += (v2 - d[o + ch]) * alpha;
        }
        if (alpha >= 0.5) head[i] = id;
      });
      const hl = randInt(rng, 0, Math.round(3 * dev.specular));
      for (let s = 0; s < hl; s++) {
        const sx = shape.cx + L[0] * shape.rx * uniform(rng, 0.1, 0.6) + uniform(rng, -0.2, 0.2) * shape.rx;
        const sy = shape.cy + L[1] * shape.ry * uniform(rng, 0.1, 0.6) + uniform(rng, -0.2, 0.2) * shape.ry;
        const sr = Math.max(1, uniform(rng, 0.03, 0.08) * rr);
        spots.push({ x: sx, y: sy, rx: sr * uniform(rng, 1, 2.2), ry: sr, strength: 1.2 * (1 - 0.6 * fl) });
      }
      break;
    }
  }

  const bg = randInt(rng, 2, Math.round(2 + 8 * dev.specular));
  for (let s = 0; s < bg; s++) {
    const sr = Math.max(1, uniform(rng, 0.004, 0.015) * m);
    spots.push({ x: uniform(rng, 0, w), y: uniform(rng, 0, h), rx: sr * uniform(rng, 1, 3), ry: sr, strength: uniform(rng, 0.6, 1.2) });
  }

  const fov = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) fov[y * w + x] = visible(x + 0.5, y + 0.5) ? 1 : 0;
  const j = dev.rgbJitter;
  const target: Rgb = [dev.fieldRgb[0] * (1 + uniform(rng, -j, j)), dev.fieldRgb[1] * (1 + uniform(rng, -j, j)), dev.fieldRgb[2] * (1 + uniform(rng, -j, j))];
  normaliseField(c, fov, target, dev.contrast * uniform(rng, 0.85, 1.15));
  for (const sp of spots) softSpot(c, sp.x, sp.y, sp.rx, sp.ry, [1, 1, 1], sp.strength);
  for (let i = 0; i < d.length; i++) d[i] = clamp01(d[i]);
  const modeOn = rng() < dev.modeProb;
  applyColorMode(c, modeOn ? dev.colorMode : "white", 4, dev.modeStrength ?? 1);
  distort(c, [head, stalkOwner], dev.distortion);

  for (let i = 0; i < w * h; i++) {
    if (fov[i]) continue;
    d[i * 3] = 0.012;
    d[i * 3 + 1] = 0.012;
    d[i * 3 + 2] = 0.012;
    head[i] = 0;
    stalkOwner[i] = 0;
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
  if (dev.noise > 0) {
    for (let i = 0; i < w * h; i++) {
      if (!fov[i]) continue;
      for (let ch = 0; ch < 3; ch++) d[i * 3 + ch] += gaussian(rng) * dev.noise;
    }
  }
  for (let i = 0; i < d.length; i++) d[i] = clamp01(d[i]);

  const boxes: Rect[] = [];
  const minPixels = Math.max(12, 0.0005 * w * h);
  for (const [k, lesion] of lesions.entries()) {
    const maps = lesion.stalk && style.label.stalk ? [head, stalkOwner] : [head];
    const owned = ownedBox(maps, k + 1, w, h);
    if (!owned || owned.pixels < minPixels) continue;
    boxes.push(conventionBox(owned.box, style.label, w, h, rng));
  }
  return { canvas: c, boxes };
}
