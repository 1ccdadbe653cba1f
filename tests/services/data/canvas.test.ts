// placeOnCanvas is the per-sample pixel work of training, rewritten for speed (one pass, no
// intermediate image). Its output must stay bit-identical to the plain algorithm it replaced, or
// every stored result would stop reproducing: the reference below is that algorithm.
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { mulberry32, placeOnCanvas, type ColorJitterFactors } from "../../../services/data/index.js";
import type { LetterboxTransform } from "../../../services/data/types.js";

function reference(rgb: Uint8Array, rw: number, rh: number, t: LetterboxTransform, size: number, jitter: ColorJitterFactors | null): Float32Array {
  const region = new Float32Array(rw * rh * 3);
  for (let i = 0; i < region.length; i++) region[i] = rgb[i] / 255;
  if (jitter) {
    const n = rw * rh;
    let mean = 0;
    for (let i = 0; i < n; i++) mean += 0.299 * region[i * 3] + 0.587 * region[i * 3 + 1] + 0.114 * region[i * 3 + 2];
    mean = (mean / n) * jitter.brightness;
    for (let i = 0; i < n; i++) {
      const o = i * 3;
      const c = [0, 1, 2].map((k) => (region[o + k] * jitter.brightness - mean) * jitter.contrast + mean);
      const grey = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
      for (let k = 0; k < 3; k++) region[o + k] = Math.min(1, Math.max(0, grey + (c[k] - grey) * jitter.saturation));
    }
  }
  const pixels = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const sx = (t.flipped ? size - 1 - x : x) - t.padX;
      const sy = y - t.padY;
      if (sx < 0 || sy < 0 || sx >= rw || sy >= rh) continue;
      for (let k = 0; k < 3; k++) pixels[(y * size + x) * 3 + k] = region[(sy * rw + sx) * 3 + k];
    }
  }
  return pixels;
}

function transform(padX: number, padY: number, flipped: boolean, size: number): LetterboxTransform {
  return { scale: 1, padX, padY, flipped, origWidth: 0, origHeight: 0, size };
}

describe("canvas", () => {
  it("canvas - placeOnCanvas is bit-identical to the plain algorithm: padded, cropped, mirrored, colour-jittered", () => {
    const rng = mulberry32(5);
    const size = 32;
    const cases: [number, number, number, number, boolean, ColorJitterFactors | null][] = [
      [20, 12, 6, 10, false, null], // smaller than the canvas: padded
      [20, 12, 6, 10, true, null],
      [40, 36, -5, -3, false, { brightness: 1.1, contrast: 0.85, saturation: 1.2 }], // larger: cropped
      [40, 36, -5, -3, true, { brightness: 0.9, contrast: 1.15, saturation: 0.8 }],
      [32, 32, 0, 0, true, { brightness: 1.2, contrast: 1.2, saturation: 1.2 }], // clipping at 1
      [7, 40, 30, -4, false, { brightness: 0.8, contrast: 0.8, saturation: 0.9 }], // a sliver at the edge
    ];
    for (const [rw, rh, padX, padY, flipped, jitter] of cases) {
      const rgb = Uint8Array.from({ length: rw * rh * 3 }, () => Math.floor(rng() * 256));
      const t = transform(padX, padY, flipped, size);
      const got = placeOnCanvas(rgb, rw, rh, t, size, jitter);
      const want = reference(rgb, rw, rh, t, size, jitter);
      assert.deepEqual(Buffer.from(got.buffer), Buffer.from(want.buffer), `rw ${rw} rh ${rh} pad ${padX},${padY} flipped ${flipped} jitter ${JSON.stringify(jitter)}`);
    }
  });
});
