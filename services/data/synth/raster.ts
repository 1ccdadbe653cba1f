import { type Rng } from "../prng.js";

/** A float RGB drawing surface in [0,1], row-major HWC. */
export interface Canvas {
  width: number;
  height: number;
  data: Float32Array;
}

export type Rgb = [number, number, number];

export function createCanvas(width: number, height: number, fill: Rgb = [0, 0, 0]): Canvas {
  const data = new Float32Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    data[i * 3] = fill[0];
    data[i * 3 + 1] = fill[1];
    data[i * 3 + 2] = fill[2];
  }
  return { width, height, data };
}

/** Quantizes to 8-bit; rounding is explicit so output bytes never depend on the platform. */
export function toBytes(c: Canvas, channels: 1 | 3 = 3): Uint8Array {
  const n = c.width * c.height;
  const out = new Uint8Array(n * channels);
  const q = (v: number): number => (v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255));
  if (channels === 3) {
    for (let i = 0; i < n * 3; i++) out[i] = q(c.data[i]);
  } else {
    for (let i = 0; i < n; i++) out[i] = q(0.299 * c.data[i * 3] + 0.587 * c.data[i * 3 + 1] + 0.114 * c.data[i * 3 + 2]);
  }
  return out;
}

/**
 * Smooth value noise in [0,1]: a random lattice with `cell`-pixel spacing, interpolated with a
 * smoothstep. Cheap (one lattice lookup per pixel), deterministic per rng state.
 */
export function valueNoise(width: number, height: number, cell: number, rng: Rng): Float32Array {
  const c = Math.max(1, cell);
  const gw = Math.ceil(width / c) + 2;
  const gh = Math.ceil(height / c) + 2;
  const grid = new Float32Array(gw * gh);
  for (let i = 0; i < grid.length; i++) grid[i] = rng();
  const out = new Float32Array(width * height);
  const wx = new Float32Array(width);
  const ix = new Int32Array(width);
  for (let x = 0; x < width; x++) {
    const fx = x / c;
    ix[x] = Math.floor(fx);
    const t = fx - ix[x];
    wx[x] = t * t * (3 - 2 * t);
  }
  for (let y = 0; y < height; y++) {
    const fy = y / c;
    const iy = Math.floor(fy);
    let ty = fy - iy;
    ty = ty * ty * (3 - 2 * ty);
    const r0 = iy * gw;
    const r1 = r0 + gw;
    const o = y * width;
    for (let x = 0; x < width; x++) {
      const i = ix[x];
      const tx = wx[x];
      const a = grid[r0 + i] + (grid[r0 + i + 1] - grid[r0 + i]) * tx;
      const b = grid[r1 + i] + (grid[r1 + i + 1] - grid[r1 + i]) * tx;
      out[o + x] = a + (b - a) * ty;
    }
  }
  return out;
}

/** Fractal noise: octaves of value noise with halving cell size and amplitude, normalized to [0,1]. */
export function fbm(width: number, height: number, cell: number, octaves: number, rng: Rng): Float32Array {
  const out = new Float32Array(width * height);
  let amp = 1;
  let total = 0;
  for (let o = 0; o < octaves; o++) {
    const n = valueNoise(width, height, cell / (1 << o), rng);
    for (let i = 0; i < out.length; i++) out[i] += n[i] * amp;
    total += amp;
    amp *= 0.5;
  }
  for (let i = 0; i < out.length; i++) out[i] /= total;
  return out;
}

export function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

export function fillRect(c: Canvas, x0: number, y0: number, w: number, h: number, color: Rgb, alpha = 1): void {
  const xa = Math.max(0, Math.floor(x0));
  const ya = Math.max(0, Math.floor(y0));
  const xb = Math.min(c.width, Math.floor(x0 + w));
  const yb = Math.min(c.height, Math.floor(y0 + h));
  for (let y = ya; y < yb; y++) {
    for (let x = xa; x < xb; x++) {
      const o = (y * c.width + x) * 3;
      c.data[o] += (color[0] - c.data[o]) * alpha;
      c.data[o + 1] += (color[1] - c.data[o + 1]) * alpha;
      c.data[o + 2] += (color[2] - c.data[o + 2]) * alpha;
    }
  }
}

/** Adds a soft round spot (Gaussian falloff) that blends towards `color`; used for specular highlights. */
export function softSpot(c: Canvas, cx: number, cy: number, rx: number, ry: number, color: Rgb, strength: number): void {
  const x0 = Math.max(0, Math.floor(cx - 3 * rx));
  const x1 = Math.min(c.width - 1, Math.ceil(cx + 3 * rx));
  const y0 = Math.max(0, Math.floor(cy - 3 * ry));
  const y1 = Math.min(c.height - 1, Math.ceil(cy + 3 * ry));
  for (let y = y0; y <= y1; y++) {
    const dy = (y - cy) / ry;
    for (let x = x0; x <= x1; x++) {
      const dx = (x - cx) / rx;
      const a = strength * Math.exp(-(dx * dx + dy * dy) * 1.5);
      if (a < 0.004) continue;
      const o = (y * c.width + x) * 3;
      const k = Math.min(1, a);
      c.data[o] += (color[0] - c.data[o]) * k;
      c.data[o + 1] += (color[1] - c.data[o + 1]) * k;
      c.data[o + 2] += (color[2] - c.data[o + 2]) * k;
    }
  }
}

// A 5x7 bitmap font for the burned-in text of endoscopy and ultrasound frames (fonts on the host
// would make the bytes depend on the machine).
const GLYPHS: Record<string, string[]> = {
  "0": ["01110", "10001", "10011", "10101", "11001", "10001", "01110"],
  "1": ["00100", "01100", "00100", "00100", "00100", "00100", "01110"],
  "2": ["01110", "10001", "00001", "00010", "00100", "01000", "11111"],
  "3": ["11110", "00001", "00001", "01110", "00001", "00001", "11110"],
  "4": ["00010", "00110", "01010", "10010", "11111", "00010", "00010"],
  "5": ["11111", "10000", "11110", "00001", "00001", "10001", "01110"],
  "6": ["00110", "01000", "10000", "11110", "10001", "10001", "01110"],
  "7": ["11111", "00001", "00010", "00100", "01000", "01000", "01000"],
  "8": ["01110", "10001", "10001", "01110", "10001", "10001", "01110"],
  "9": ["01110", "10001", "10001", "01111", "00001", "00010", "01100"],
  ":": ["00000", "01100", "01100", "00000", "01100", "01100", "00000"],
  "/": ["00001", "00010", "00010", "00100", "01000", "01000", "10000"],
  "-": ["00000", "00000", "00000", "11111", "00000", "00000", "00000"],
  ".": ["00000", "00000", "00000", "00000", "00000", "01100", "01100"],
  " ": ["00000", "00000", "00000", "00000", "00000", "00000", "00000"],
  A: ["01110", "10001", "10001", "11111", "10001", "10001", "10001"],
  B: ["11110", "10001", "10001", "11110", "10001", "10001", "11110"],
  C: ["01110", "10001", "10000", "10000", "10000", "10001", "01110"],
  D: ["11100", "10010", "10001", "10001", "10001", "10010", "11100"],
  E: ["11111", "10000", "10000", "11110", "10000", "10000", "11111"],
  F: ["11111", "10000", "10000", "11110", "10000", "10000", "10000"],
  G: ["01110", "10001", "10000", "10111", "10001", "10001", "01111"],
  H: ["10001", "10001", "10001", "11111", "10001", "10001", "10001"],
  I: ["01110", "00100", "00100", "00100", "00100", "00100", "01110"],
  K: ["10001", "10010", "10100", "11000", "10100", "10010", "10001"],
  L: ["10000", "10000", "10000", "10000", "10000", "10000", "11111"],
  M: ["10001", "11011", "10101", "10101", "10001", "10001", "10001"],
  N: ["10001", "10001", "11001", "10101", "10011", "10001", "10001"],
  O: ["01110", "10001", "10001", "10001", "10001", "10001", "01110"],
  P: ["11110", "10001", "10001", "11110", "10000", "10000", "10000"],
  R: ["11110", "10001", "10001", "11110", "10100", "10010", "10001"],
  S: ["01111", "10000", "10000", "01110", "00001", "00001", "11110"],
  T: ["11111", "00100", "00100", "00100", "00100", "00100", "00100"],
  U: ["10001", "10001", "10001", "10001", "10001", "10001", "01110"],
  V: ["10001", "10001", "10001", "10001", "10001", "01010", "00100"],
  W: ["10001", "10001", "10001", "10101", "10101", "10101", "01010"],
  X: ["10001", "10001", "01010", "00100", "01010", "10001", "10001"],
  Y: ["10001", "10001", "01010", "00100", "00100", "00100", "00100"],
  Z: ["11111", "00001", "00010", "00100", "01000", "10000", "11111"],
};

/** Draws text with the built-in 5x7 font at integer pixel scale `px` (one glyph cell is 6px*px wide). */
export function drawText(c: Canvas, text: string, x: number, y: number, px: number, color: Rgb): number {
  const s = Math.max(1, Math.round(px));
  let cx = Math.round(x);
  for (const ch of text.toUpperCase()) {
    const g = GLYPHS[ch] ?? GLYPHS[" "];
    for (let r = 0; r < 7; r++) {
      for (let col = 0; col < 5; col++) {
        if (g[r][col] === "1") fillRect(c, cx + col * s, Math.round(y) + r * s, s, s, color);
      }
    }
    cx += 6 * s;
  }
  return cx;
}

/** Separable box blur of one float plane, radius r (for soft masks and cheap smoothing). */
export function boxBlurPlane(src: Float32Array, width: number, height: number, r: number): Float32Array {
  if (r < 1) return src;
  const tmp = new Float32Array(src.length);
  const out = new Float32Array(src.length);
  const norm = 1 / (2 * r + 1);
  for (let y = 0; y < height; y++) {
    const o = y * width;
    let acc = 0;
    for (let k = -r; k <= r; k++) acc += src[o + Math.min(width - 1, Math.max(0, k))];
    for (let x = 0; x < width; x++) {
      tmp[o + x] = acc * norm;
      acc += src[o + Math.min(width - 1, x + r + 1)] - src[o + Math.max(0, x - r)];
    }
  }
  for (let x = 0; x < width; x++) {
    let acc = 0;
    for (let k = -r; k <= r; k++) acc += tmp[Math.min(height - 1, Math.max(0, k)) * width + x];
    for (let y = 0; y < height; y++) {
      out[y * width + x] = acc * norm;
      acc += tmp[Math.min(height - 1, y + r + 1) * width + x] - tmp[Math.max(0, y - r) * width + x];
    }
  }
  return out;
}

/** Tight box (x, y, w, h) of mask values >= 0.5, or null if the mask is empty. */
export function maskBox(mask: Float32Array, width: number, height: number, x0 = 0, y0 = 0, x1 = width, y1 = height): [number, number, number, number] | null {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -1;
  let maxY = -1;
  for (let y = y0; y < y1; y++) {
    const o = y * width;
    for (let x = x0; x < x1; x++) {
      if (mask[o + x] >= 0.5) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    }
  }
  if (maxX < 0) return null;
  return [minX, minY, maxX - minX + 1, maxY - minY + 1];
}
