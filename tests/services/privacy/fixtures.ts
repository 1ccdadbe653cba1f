import { writeFileSync } from "node:fs";
import sharp from "sharp";
import { privacySchema, type PrivacyConfig } from "../../../services/config/index.js";
import { tempDir as sharedTempDir } from "../../helpers/temp.js";

export const SECRET = "site-a-secret-0123456789";

export function tempDir(prefix = "medfcl-privacy-"): string {
  return sharedTempDir(prefix);
}

export function privacyConfig(over: Partial<PrivacyConfig> = {}): PrivacyConfig {
  return { ...privacySchema.parse({}), ...over };
}

/** Deterministic "endoscopy-like" RGB scene: textured content, a black border, a bright lesion. */
export function sceneRgb(width: number, height: number, seed: number, border = 0): Buffer {
  const data = Buffer.alloc(width * height * 3);
  let s = seed >>> 0;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  // Smooth blobs of random size and colour: energy spread over the low frequencies, like a scene.
  const blobs = Array.from({ length: 8 }, () => ({ x: rnd() * width, y: rnd() * height, r: (0.08 + rnd() * 0.25) * Math.max(width, height), c: [rnd(), rnd(), rnd()] }));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      if (x < border || y < border || x >= width - border || y >= height - border) continue;
      const acc = [40, 30, 35];
      for (const b of blobs) {
        const g = Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / (2 * b.r * b.r));
        for (let c = 0; c < 3; c++) acc[c] += 120 * g * b.c[c];
      }
      for (let c = 0; c < 3; c++) data[i + c] = Math.min(235, Math.round(acc[c]));
    }
  }
  return data;
}

export async function writePng(path: string, width: number, height: number, seed: number, border = 0): Promise<string> {
  await sharp(sceneRgb(width, height, seed, border), { raw: { width, height, channels: 3 } }).png().toFile(path);
  return path;
}

// CRC-32 (IEEE) for hand-made PNG chunks.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** Inserts a chunk right after IHDR (8-byte signature + 25-byte IHDR chunk). */
export function insertPngChunk(png: Buffer, chunk: Buffer): Buffer {
  return Buffer.concat([png.subarray(0, 33), chunk, png.subarray(33)]);
}

export function pngChunkTypes(png: Buffer): string[] {
  const out: string[] = [];
  let off = 8;
  while (off + 8 <= png.length) {
    const len = png.readUInt32BE(off);
    out.push(png.toString("latin1", off + 4, off + 8));
    off += 12 + len;
  }
  return out;
}

export function writeBytes(path: string, bytes: Uint8Array): string {
  writeFileSync(path, bytes);
  return path;
}
