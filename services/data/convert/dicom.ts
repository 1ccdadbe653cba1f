import { existsSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import * as dicomNs from "dicom-parser";
import sharp from "sharp";
import { DataArgumentError, DataNotFoundError, ImageDecodeError } from "../errors.js";
import { type ConvertReport } from "./common.js";
import {
  convertKvasir,
  convertMasks,
  convertRgbMasks,
  convertVoc,
  convertYolo,
  type KvasirOptions,
  type MaskOptions,
  type RgbMaskOptions,
  type VocOptions,
  type YoloOptions,
} from "./formats.js";

// dicom-parser is CommonJS: under Node's ESM loader its functions live on the default export.
const dicomParser: typeof dicomNs = (dicomNs as unknown as { default?: typeof dicomNs }).default ?? dicomNs;

export interface DicomWindow {
  center: number;
  width: number;
}

export interface GreyImage {
  width: number;
  height: number;
  data: Uint8Array;
}

const UNCOMPRESSED = new Set(["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"]);

function firstNumber(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const v = Number(s.split("\\")[0]);
  return Number.isFinite(v) ? v : undefined;
}

/**
 * Decodes the first frame of an uncompressed greyscale DICOM and windows it to 8 bits with the
 * DICOM linear VOI function: the explicit window, else the file's WindowCenter/Width, else min..max.
 */
export function dicomToGrey(buf: Uint8Array, path: string, window?: DicomWindow): GreyImage {
  let ds: dicomNs.DataSet;
  try {
    ds = dicomParser.parseDicom(buf);
  } catch (err) {
    throw new ImageDecodeError(path, `not a DICOM file: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const ts = ds.string("x00020010")?.trim();
  if (ts && !UNCOMPRESSED.has(ts)) throw new ImageDecodeError(path, `compressed transfer syntax ${ts} is not supported; decompress it first (e.g. gdcmconv --raw)`);
  const rows = ds.uint16("x00280010");
  const cols = ds.uint16("x00280011");
  const bits = ds.uint16("x00280100") ?? 16;
  const signed = ds.uint16("x00280103") === 1;
  const spp = ds.uint16("x00280002") ?? 1;
  const photometric = (ds.string("x00280004") ?? "MONOCHROME2").trim();
  const pix = ds.elements.x7fe00010;
  if (!rows || !cols || !pix) throw new ImageDecodeError(path, "no Rows/Columns/PixelData");
  if (spp !== 1) throw new ImageDecodeError(path, `${spp} samples per pixel; only greyscale DICOM is supported`);
  const n = rows * cols;
  const bytes = bits / 8;
  if ((bits !== 8 && bits !== 16) || pix.length < n * bytes) throw new ImageDecodeError(path, `unsupported pixel data (${bits} bits, ${pix.length} bytes for ${cols}x${rows})`);
  const slope = firstNumber(ds.string("x00281053")) ?? 1;
  const intercept = firstNumber(ds.string("x00281052")) ?? 0;
  const dv = new DataView(ds.byteArray.buffer, ds.byteArray.byteOffset + pix.dataOffset, n * bytes);
  const bigEndian = ts === "1.2.840.10008.1.2.2";
  const values = new Float64Array(n);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const raw = bits === 8 ? (signed ? dv.getInt8(i) : dv.getUint8(i)) : signed ? dv.getInt16(i * 2, !bigEndian) : dv.getUint16(i * 2, !bigEndian);
    const v = raw * slope + intercept;
    values[i] = v;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const c = window?.center ?? firstNumber(ds.string("x00281050"));
  const w = window?.width ?? firstNumber(ds.string("x00281051"));
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let y: number;
    if (c !== undefined && w !== undefined && w >= 1) {
      const x = values[i];
      if (x <= c - 0.5 - (w - 1) / 2) y = 0;
      else if (x > c - 0.5 + (w - 1) / 2) y = 255;
      else y = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255;
    } else {
      y = hi > lo ? ((values[i] - lo) / (hi - lo)) * 255 : 0;
    }
    y = Math.round(Math.min(255, Math.max(0, y)));
    data[i] = photometric === "MONOCHROME1" ? 255 - y : y;
  }
  return { width: cols, height: rows, data };
}

/** Which annotation format accompanies the DICOM images, with that converter's options (minus images/out). */
export type DicomPair =
  | ({ format: "masks" } & Omit<MaskOptions, "images" | "out">)
  | ({ format: "rgb-masks" } & Omit<RgbMaskOptions, "images" | "out">)
  | ({ format: "voc" } & Omit<VocOptions, "images" | "out">)
  | ({ format: "yolo" } & Omit<YoloOptions, "images" | "out">)
  | ({ format: "kvasir" } & Omit<KvasirOptions, "images" | "out">);

export interface DicomOptions {
  /** Folder of DICOM files (any name; non-DICOM files are skipped). */
  dicom: string;
  out: string;
  window?: DicomWindow;
  pair: DicomPair;
}

/** DICOM images paired with any other annotation format: windowed to 8-bit PNGs named by file stem. */
export async function convertDicom(o: DicomOptions): Promise<ConvertReport> {
  if (!existsSync(o.dicom)) throw new DataNotFoundError(o.dicom, "DICOM folder");
  const tmp = join(o.out, ".dicom-png");
  rmSync(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const skipped: string[] = [];
  let converted = 0;
  try {
    for (const name of readdirSync(o.dicom).sort()) {
      const p = join(o.dicom, name);
      if (!statSync(p).isFile()) continue;
      const buf = readFileSync(p);
      const isPart10 = buf.length > 132 && buf.toString("latin1", 128, 132) === "DICM";
      if (!isPart10 && !name.toLowerCase().endsWith(".dcm")) continue;
      let g: GreyImage;
      try {
        g = dicomToGrey(buf, p, o.window);
      } catch (err) {
        skipped.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      const s = name.replace(/\.dcm$/i, "");
      await sharp(Buffer.from(g.data), { raw: { width: g.width, height: g.height, channels: 1 } }).toColourspace("b-w").png().toFile(join(tmp, `${s}.png`));
      converted++;
    }
    if (converted === 0) throw new DataArgumentError(`no readable DICOM files in ${o.dicom} (${skipped.slice(0, 3).join("; ") || "none found"})`);
    const common = { images: tmp, out: o.out };
    let report: ConvertReport;
    const pair = o.pair;
    switch (pair.format) {
      case "masks":
        report = await convertMasks({ ...pair, ...common });
        break;
      case "rgb-masks":
        report = await convertRgbMasks({ ...pair, ...common });
        break;
      case "voc":
        report = await convertVoc({ ...pair, ...common });
        break;
      case "yolo":
        report = await convertYolo({ ...pair, ...common });
        break;
      case "kvasir":
        report = await convertKvasir({ ...pair, ...common });
        break;
    }
    return { ...report, skipped: [...skipped, ...report.skipped] };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
