import { BmpFormatError } from "./errors.js";
import { type RgbImage } from "./types.js";

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

export interface BmpHeader {
  width: number;
  height: number;
  topDown: boolean;
  bpp: number;
  compression: number;
  dataOffset: number;
  headerSize: number;
}

/** Reads the size fields of a BMP without touching the pixel data. */
export function readBmpHeader(buf: Uint8Array): BmpHeader {
  if (buf.length < 26 || buf[0] !== 0x42 || buf[1] !== 0x4d) throw new BmpFormatError("not a BMP file (no BM signature)");
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dataOffset = dv.getUint32(10, true);
  const headerSize = dv.getUint32(14, true);
  let width: number;
  let height: number;
  let bpp: number;
  let compression = BI_RGB;
  if (headerSize === 12) {
    width = dv.getUint16(18, true);
    height = dv.getInt16(20, true);
    bpp = dv.getUint16(24, true);
  } else if (headerSize >= 40 && buf.length >= 14 + 40) {
    width = dv.getInt32(18, true);
    height = dv.getInt32(22, true);
    bpp = dv.getUint16(28, true);
    compression = dv.getUint32(30, true);
  } else {
    throw new BmpFormatError(`unsupported BMP header size ${headerSize}`);
  }
  if (width <= 0 || height === 0) throw new BmpFormatError(`invalid BMP size ${width}x${height}`);
  return { width, height: Math.abs(height), topDown: height < 0, bpp, compression, dataOffset, headerSize };
}

function maskShift(mask: number): { shift: number; max: number } {
  if (mask === 0) return { shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, max: mask >>> shift };
}

/**
 * Decodes uncompressed BMP (1/4/8-bit palette, 16/24/32-bit, BI_RGB or BI_BITFIELDS) to RGB.
 * libvips (and so sharp) has no BMP loader, and CVC-300 / CVC-ColonDB ship as BMP.
 */
export function decodeBmp(buf: Uint8Array): RgbImage {
  const h = readBmpHeader(buf);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const { width, height, bpp } = h;
  if (h.compression !== BI_RGB && h.compression !== BI_BITFIELDS && h.compression !== BI_ALPHABITFIELDS) {
    throw new BmpFormatError(`compressed BMP (compression ${h.compression}) is not supported; re-save it uncompressed or as PNG`);
  }
  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  if (h.dataOffset + stride * height > buf.length) throw new BmpFormatError("truncated BMP pixel data");
  let palette: Uint8Array | null = null;
  if (bpp <= 8) {
    const entry = h.headerSize === 12 ? 3 : 4;
    const start = 14 + h.headerSize;
    const n = Math.min(1 << bpp, Math.floor((h.dataOffset - start) / entry));
    palette = new Uint8Array(256 * 3);
    for (let i = 0; i < n; i++) {
      palette[i * 3] = buf[start + i * entry + 2];
      palette[i * 3 + 1] = buf[start + i * entry + 1];
      palette[i * 3 + 2] = buf[start + i * entry];
    }
  }
  let masks = bpp === 16 ? [0x7c00, 0x03e0, 0x001f] : [0xff0000, 0x00ff00, 0x0000ff];
  if (h.compression !== BI_RGB) {
    // V1 headers keep the masks right after the 40-byte header; V4/V5 have them inside it.
    masks = [dv.getUint32(54, true), dv.getUint32(58, true), dv.getUint32(62, true)];
  }
  const ms = masks.map(maskShift);
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = h.dataOffset + (h.topDown ? y : height - 1 - y) * stride;
    const o = y * width * 3;
    for (let x = 0; x < width; x++) {
      let r: number;
      let g: number;
      let b: number;
      if (bpp === 24) {
        const p = row + x * 3;
        b = buf[p];
        g = buf[p + 1];
        r = buf[p + 2];
      } else if (bpp === 32 || bpp === 16) {
        const v = bpp === 32 ? dv.getUint32(row + x * 4, true) : dv.getUint16(row + x * 2, true);
        const c = ms.map(({ shift, max }) => (max === 0 ? 0 : Math.round((((v >>> shift) & max) * 255) / max)));
        [r, g, b] = c;
      } else if (palette && (bpp === 8 || bpp === 4 || bpp === 1)) {
        const bit = x * bpp;
        const byte = buf[row + (bit >> 3)];
        const idx = (byte >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
        r = palette[idx * 3];
        g = palette[idx * 3 + 1];
        b = palette[idx * 3 + 2];
      } else {
        throw new BmpFormatError(`unsupported BMP bit depth ${bpp}`);
      }
      out[o + x * 3] = r;
      out[o + x * 3 + 1] = g;
      out[o + x * 3 + 2] = b;
    }
  }
  return { width, height, data: out };
}

/** Encodes RGB as a bottom-up 24-bit BI_RGB BMP (for the synthetic CVC-300-like domain and tests). */
export function encodeBmp(img: RgbImage): Buffer {
  const { width, height, data } = img;
  const stride = Math.floor((24 * width + 31) / 32) * 4;
  const size = 54 + stride * height;
  const buf = Buffer.alloc(size);
  buf.write("BM", 0, "latin1");
  buf.writeUInt32LE(size, 2);
  buf.writeUInt32LE(54, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(width, 18);
  buf.writeInt32LE(height, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(24, 28);
  buf.writeUInt32LE(BI_RGB, 30);
  buf.writeUInt32LE(stride * height, 34);
  buf.writeInt32LE(2835, 38);
  buf.writeInt32LE(2835, 42);
  for (let y = 0; y < height; y++) {
    const row = 54 + (height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      buf[row + x * 3] = data[i + 2];
      buf[row + x * 3 + 1] = data[i + 1];
      buf[row + x * 3 + 2] = data[i];
    }
  }
  return buf;
}
