import sharp from "sharp";
import { ErrorCode, MedfclError, type MedfclErrorOptions } from "../errors/index.js";

/**
 * Central exemplar validation (defence in depth behind the site's privacy filter): an exemplar is
 * decoded, bounded, re-encoded from its pixels alone, and the stored bytes are checked to carry no
 * metadata. A site whose filter is broken must not be able to replay PHI to the federation.
 */

export type ImageFormat = "png" | "jpeg";

export interface ImageLimits {
  /** Largest encoded exemplar accepted, in bytes. */
  maxBytes: number;
  /** Largest decoded image, width × height; checked from the header before any pixel is decoded. */
  maxPixels: number;
  /** Longest side allowed, in pixels. */
  maxSide: number;
  /** Formats accepted (by their bytes, not by the declared mime). */
  formats: ImageFormat[];
}

/**
 * A hospital's defaults: exemplars leave a site downscaled (privacy.maxSide 512), so 4096 px and
 * 8 MiB leave room for other pipelines while refusing anything that would be a full study.
 */
export const DEFAULT_IMAGE_LIMITS: ImageLimits = { maxBytes: 8 * 1024 * 1024, maxPixels: 4096 * 4096, maxSide: 4096, formats: ["png", "jpeg"] };

export const MIME_OF: Record<ImageFormat, string> = { png: "image/png", jpeg: "image/jpeg" };

/** An exemplar the coordinator will not store; the message says why and is sent to the site. */
export class ImageRefusedError extends MedfclError {
  constructor(message: string, options: MedfclErrorOptions = {}) {
    super(ErrorCode.InvalidArgument, message, options);
  }
}

export interface SanitizedImage {
  bytes: Buffer;
  format: ImageFormat;
  mime: string;
  width: number;
  height: number;
  /** What the re-encoding dropped, by kind and key only (never the values, which may be PHI). */
  removed: string[];
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The format the bytes are, from their signature; null for anything else. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 8 && b.subarray(0, 8).equals(PNG_SIGNATURE)) return "png";
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  return null;
}

interface PngChunk {
  type: string;
  start: number;
  end: number;
  data: Buffer;
}

function pngChunks(b: Buffer): PngChunk[] {
  const out: PngChunk[] = [];
  let o = 8;
  while (o + 12 <= b.length) {
    const len = b.readUInt32BE(o);
    const end = o + 12 + len;
    if (end > b.length) throw new ImageRefusedError(`PNG chunk at byte ${o} declares ${len} bytes past the end of the file`);
    out.push({ type: b.toString("latin1", o + 4, o + 8), start: o, end, data: b.subarray(o + 8, o + 8 + len) });
    o = end;
    if (out.at(-1)!.type === "IEND") break;
  }
  return out;
}

// Pixels and what is needed to read them; everything else (text, time, EXIF, ICC, gamma, pHYs,
// private chunks) is metadata the federation does not need.
const PNG_KEEP = new Set(["IHDR", "PLTE", "tRNS", "IDAT", "IEND"]);

interface JpegSegment {
  marker: number;
  data: Buffer;
}

/** Marker segments of a JPEG, entropy-coded data skipped; enough to see every metadata carrier. */
function jpegSegments(b: Buffer): JpegSegment[] {
  const out: JpegSegment[] = [];
  let o = 2;
  while (o + 1 < b.length) {
    if (b[o] !== 0xff) {
      o++;
      continue;
    }
    const marker = b[o + 1];
    if (marker === 0xff || marker === 0x00 || (marker >= 0xd0 && marker <= 0xd7)) {
      o += marker === 0xff ? 1 : 2;
      continue;
    }
    if (marker === 0xd9) {
      out.push({ marker, data: Buffer.alloc(0) });
      break;
    }
    if (o + 4 > b.length) break;
    const len = b.readUInt16BE(o + 2);
    out.push({ marker, data: b.subarray(o + 4, Math.min(o + 2 + len, b.length)) });
    o += 2 + len;
    if (marker === 0xda) {
      // Entropy-coded data: skip to the next marker that is not a stuffed byte or a restart.
      while (o + 1 < b.length && !(b[o] === 0xff && b[o + 1] !== 0x00 && !(b[o + 1] >= 0xd0 && b[o + 1] <= 0xd7))) o++;
    }
  }
  return out;
}

function isJpegStructural(marker: number): boolean {
  // SOFn (not DHT c4, JPG c8, DAC cc), DHT, DQT, DRI, SOS, EOI.
  return (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc8 && marker !== 0xcc) || marker === 0xdb || marker === 0xdd || marker === 0xda || marker === 0xd9;
}

function jpegSegmentName(s: JpegSegment): string {
  if (s.marker === 0xfe) return "jpeg:COM";
  if (s.marker >= 0xe0 && s.marker <= 0xef) {
    const id = s.data.toString("latin1", 0, Math.min(s.data.length, 29)).split("\0")[0].replace(/[^\x20-\x7e]/g, "");
    return `jpeg:APP${s.marker - 0xe0}${id ? `(${id})` : ""}`;
  }
  return `jpeg:0x${s.marker.toString(16)}`;
}

function pngChunkName(c: PngChunk): string {
  if (c.type === "tEXt" || c.type === "zTXt" || c.type === "iTXt") {
    const keyword = c.data.toString("latin1", 0, Math.min(c.data.length, 80)).split("\0")[0].replace(/[^\x20-\x7e]/g, "");
    return `png:${c.type}(${keyword})`;
  }
  return `png:${c.type}`;
}

/** Every metadata carrier in the bytes (empty for clean bytes): PNG ancillary chunks, JPEG APPn/COM. */
export function imageMetadataCarriers(bytes: Buffer): string[] {
  const format = sniffImageFormat(bytes);
  if (format === "png") return pngChunks(bytes).filter((c) => !PNG_KEEP.has(c.type)).map(pngChunkName);
  if (format === "jpeg") return jpegSegments(bytes).filter((s) => !isJpegStructural(s.marker)).map(jpegSegmentName);
  throw new ImageRefusedError("not a PNG or JPEG");
}

function stripPng(b: Buffer): Buffer {
  return Buffer.concat([PNG_SIGNATURE, ...pngChunks(b).filter((c) => PNG_KEEP.has(c.type)).map((c) => b.subarray(c.start, c.end))]);
}

/**
 * Decodes `bytes` within `limits` and re-encodes the pixels alone. Throws ImageRefusedError, with
 * a reason fit for the site, for anything that is not a decodable image of an allowed format.
 */
export async function sanitizeImage(bytes: Buffer, limits: ImageLimits = DEFAULT_IMAGE_LIMITS, declaredMime?: string): Promise<SanitizedImage> {
  if (bytes.length === 0) throw new ImageRefusedError("exemplar is empty");
  if (bytes.length > limits.maxBytes) throw new ImageRefusedError(`exemplar is ${bytes.length} bytes, over the limit of ${limits.maxBytes}`, { details: { field: "size" } });
  const format = sniffImageFormat(bytes);
  if (!format) throw new ImageRefusedError(`bytes are not a PNG or JPEG image (declared ${declaredMime ?? "no mime"})`, { details: { field: "mime" } });
  if (!limits.formats.includes(format)) throw new ImageRefusedError(`format ${format} is not allowed (allowed: ${limits.formats.join(", ")})`, { details: { field: "mime" } });
  if (declaredMime !== undefined && declaredMime !== MIME_OF[format]) {
    throw new ImageRefusedError(`declared mime ${declaredMime} but the bytes are ${MIME_OF[format]}`, { details: { field: "mime" } });
  }
  let removed: string[];
  try {
    removed = imageMetadataCarriers(bytes);
  } catch (err) {
    throw new ImageRefusedError(`not a decodable ${format}: ${(err as Error).message}`, { cause: err });
  }
  // sharp reads dimensions from the header without decoding pixels; limitInputPixels makes the
  // decoder refuse, too, so a lying header cannot make it allocate more.
  const opts = { limitInputPixels: limits.maxPixels, failOn: "warning" as const, sequentialRead: true };
  let width: number;
  let height: number;
  try {
    const meta = await sharp(bytes, { ...opts, limitInputPixels: false }).metadata();
    if (meta.format !== format) throw new ImageRefusedError(`decoder reads ${meta.format}, the signature says ${format}`);
    width = meta.width ?? 0;
    height = meta.height ?? 0;
    if ((meta.pages ?? 1) > 1) throw new ImageRefusedError(`exemplar has ${meta.pages} frames; one image is expected`);
  } catch (err) {
    if (err instanceof ImageRefusedError) throw err;
    throw new ImageRefusedError(`not a decodable ${format}: ${(err as Error).message}`, { cause: err });
  }
  if (!(width > 0 && height > 0)) throw new ImageRefusedError(`${format} declares ${width}×${height} pixels`);
  if (width > limits.maxSide || height > limits.maxSide) throw new ImageRefusedError(`image is ${width}×${height}, a side over the limit of ${limits.maxSide}`, { details: { field: "width" } });
  if (width * height > limits.maxPixels) throw new ImageRefusedError(`image is ${width}×${height} = ${width * height} pixels, over the limit of ${limits.maxPixels}`, { details: { field: "width" } });
  let out: Buffer;
  try {
    const img = sharp(bytes, opts);
    // No withMetadata(): sharp writes pixels only (it adds pHYs to PNGs, dropped below).
    out = format === "png" ? stripPng(await img.png({ compressionLevel: 9, adaptiveFiltering: false }).toBuffer()) : await img.jpeg({ quality: 95, chromaSubsampling: "4:4:4" }).toBuffer();
  } catch (err) {
    throw new ImageRefusedError(`not a decodable ${format}: ${(err as Error).message}`, { cause: err });
  }
  const left = imageMetadataCarriers(out);
  if (left.length) throw new MedfclError(ErrorCode.Internal, `re-encoded ${format} still carries ${left.join(", ")}`);
  const check = await sharp(out).metadata();
  if (check.width !== width || check.height !== height) throw new MedfclError(ErrorCode.Internal, `re-encoding changed ${width}×${height} to ${check.width}×${check.height}`);
  return { bytes: out, format, mime: MIME_OF[format], width, height, removed };
}
