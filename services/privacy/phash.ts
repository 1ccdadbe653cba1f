/**
 * DCT perceptual hash (the classic 64-bit pHash): luminance, area-downsample to 32×32, 2-D DCT-II,
 * keep the 8×8 lowest frequencies, one bit per coefficient above their median (DC excluded from the
 * median because it only carries overall brightness). Near duplicates differ in a few bits.
 */
import { type RgbImage } from "./pixels.js";

const N = 32;
const K = 8;

let cosTable: Float64Array | null = null;
function cosines(): Float64Array {
  if (cosTable) return cosTable;
  cosTable = new Float64Array(N * N);
  for (let u = 0; u < N; u++) for (let x = 0; x < N; x++) cosTable[u * N + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * N));
  return cosTable;
}

/** Area-average luminance (BT.601) onto an N×N grid; each output cell averages the source pixels it covers. */
function downsampleLuma(img: RgbImage): Float64Array {
  const out = new Float64Array(N * N);
  const cnt = new Float64Array(N * N);
  for (let y = 0; y < img.height; y++) {
    const gy = Math.min(N - 1, Math.floor((y * N) / img.height));
    for (let x = 0; x < img.width; x++) {
      const gx = Math.min(N - 1, Math.floor((x * N) / img.width));
      const i = (y * img.width + x) * 3;
      out[gy * N + gx] += 0.299 * img.data[i] + 0.587 * img.data[i + 1] + 0.114 * img.data[i + 2];
      cnt[gy * N + gx]++;
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = cnt[i] > 0 ? out[i] / cnt[i] : 0;
  return out;
}

/** 64-bit pHash as 16 hex characters. */
export function phash64(img: RgbImage): string {
  const g = downsampleLuma(img);
  const c = cosines();
  // Separable DCT, only the K lowest frequencies in each direction are needed.
  const rows = new Float64Array(N * K);
  for (let y = 0; y < N; y++) {
    for (let u = 0; u < K; u++) {
      let s = 0;
      for (let x = 0; x < N; x++) s += g[y * N + x] * c[u * N + x];
      rows[y * K + u] = s;
    }
  }
  const coef = new Float64Array(K * K);
  for (let v = 0; v < K; v++) {
    for (let u = 0; u < K; u++) {
      let s = 0;
      for (let y = 0; y < N; y++) s += rows[y * K + u] * c[v * N + y];
      coef[v * K + u] = s;
    }
  }
  const ac = Array.from(coef.subarray(1)).sort((a, b) => a - b);
  const median = (ac[31] + ac[32]) / 2;
  let bits = 0n;
  for (let i = 0; i < K * K; i++) if (coef[i] > median) bits |= 1n << BigInt(i);
  return bits.toString(16).padStart(16, "0");
}

export function hammingDistance(a: string, b: string): number {
  let x = BigInt(`0x${a}`) ^ BigInt(`0x${b}`);
  let n = 0;
  while (x > 0n) {
    n += Number(x & 1n);
    x >>= 1n;
  }
  return n;
}
