import { open, readFile } from "node:fs/promises";
import sharp, { type Sharp } from "sharp";
import { decodeBmp, readBmpHeader } from "./bmp.js";
import { ImageDecodeError } from "./errors.js";
import { type RgbImage } from "./types.js";

// Decoding many images in parallel is bounded by libuv's pool; caching would defeat lazy loading.
sharp.cache(false);

function isBmpPath(path: string): boolean {
  return path.toLowerCase().endsWith(".bmp");
}

async function readHead(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message.split("\n")[0] : String(err);
}

/** A sharp pipeline for any supported file (JPEG, PNG, TIFF through libvips; BMP through our decoder). */
export async function sharpFromFile(path: string): Promise<Sharp> {
  let head: Buffer;
  try {
    head = await readHead(path, 2);
  } catch (err) {
    throw new ImageDecodeError(path, reason(err), { cause: err });
  }
  if (head[0] === 0x42 && head[1] === 0x4d) {
    const img = await decodeBmpFile(path);
    return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
      raw: { width: img.width, height: img.height, channels: 3 },
    });
  }
  return sharp(path, { failOn: "error" });
}

async function decodeBmpFile(path: string): Promise<RgbImage> {
  try {
    return decodeBmp(await readFile(path));
  } catch (err) {
    throw new ImageDecodeError(path, reason(err), { cause: err });
  }
}

/** Reads an image's stored width and height from its header (no pixel decode). */
export async function readImageSize(path: string): Promise<{ width: number; height: number }> {
  try {
    const head = await readHead(path, 64);
    if (head[0] === 0x42 && head[1] === 0x4d) {
      const h = readBmpHeader(head);
      return { width: h.width, height: h.height };
    }
    const meta = await sharp(path).metadata();
    if (!meta.width || !meta.height) throw new ImageDecodeError(path, "no size in the header");
    return { width: meta.width, height: meta.height };
  } catch (err) {
    if (err instanceof ImageDecodeError) throw err;
    throw new ImageDecodeError(path, reason(err), { cause: err });
  }
}

/** Decodes any supported image to 8-bit sRGB (grey and 16-bit inputs are converted, alpha dropped). */
export async function decodeImage(path: string): Promise<RgbImage> {
  if (isBmpPath(path)) return decodeBmpFile(path);
  const pipeline = await sharpFromFile(path);
  return toRgb(pipeline, path);
}

/** Runs a pipeline to raw 8-bit RGB. */
export async function toRgb(pipeline: Sharp, path: string): Promise<RgbImage> {
  try {
    const { data, info } = await pipeline
      .removeAlpha()
      .toColourspace("srgb")
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new ImageDecodeError(path, `decoded to ${info.channels} channels, expected 3`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (err) {
    if (err instanceof ImageDecodeError) throw err;
    throw new ImageDecodeError(path, reason(err), { cause: err });
  }
}
