/**
 * Renders the first frame of a DICOM image to 8-bit RGB for an image exemplar: rescale slope and
 * intercept, then the file's first VOI window (or the frame's min..max when it has none),
 * MONOCHROME1 inverted. Native (uncompressed) pixel data and baseline JPEG are supported; other
 * encapsulated syntaxes are refused with a message naming the transfer syntax.
 */
import sharp from "sharp";
import { type DicomDataset, type DicomDict } from "dcmjs";
import { DicomError } from "../errors.js";
import { type RgbImage } from "../pixels.js";

const NATIVE_SYNTAXES = new Set(["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"]);
const JPEG_BASELINE = "1.2.840.10008.1.2.4.50";

function num(ds: DicomDataset, tag: string): number | undefined {
  const v = ds[tag]?.Value?.[0];
  if (v === undefined || v === null || v === "") return undefined;
  const n = typeof v === "number" ? v : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function str(ds: DicomDataset, tag: string): string | undefined {
  const v = ds[tag]?.Value?.[0];
  return typeof v === "string" ? v.trim() : undefined;
}

function pixelBytes(ds: DicomDataset, path: string): Uint8Array[] {
  const el = ds["7FE00010"];
  if (!el || !el.Value || el.Value.length === 0) throw new DicomError(path, "has no Pixel Data (7FE0,0010); only image objects can become exemplars");
  return el.Value.map((v) => {
    if (v instanceof ArrayBuffer) return new Uint8Array(v);
    if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    throw new DicomError(path, "Pixel Data is not binary");
  });
}

function windowToRgb(values: Float64Array, width: number, height: number, ds: DicomDataset, invert: boolean): RgbImage {
  let center = num(ds, "00281050");
  let win = num(ds, "00281051");
  if (center === undefined || win === undefined || win <= 1) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of values) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    center = (lo + hi) / 2;
    win = Math.max(1, hi - lo);
  }
  // PS3.3 C.11.2.1.2.1 linear VOI function.
  const lo = center - 0.5 - (win - 1) / 2;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    let y = ((values[i] - lo) / (win - 1)) * 255;
    y = Math.max(0, Math.min(255, Math.round(y)));
    if (invert) y = 255 - y;
    data[i * 3] = data[i * 3 + 1] = data[i * 3 + 2] = y;
  }
  return { width, height, data };
}

export async function renderDicomFrame(dicom: DicomDict, path = "<buffer>"): Promise<RgbImage> {
  const ds = dicom.dict;
  const ts = (dicom.meta["00020010"]?.Value?.[0] as string | undefined)?.trim() ?? "";
  const rows = num(ds, "00280010");
  const cols = num(ds, "00280011");
  if (!rows || !cols) throw new DicomError(path, "has no Rows (0028,0010) / Columns (0028,0011)");
  const spp = num(ds, "00280002") ?? 1;
  const bits = num(ds, "00280100") ?? 8;
  const signed = (num(ds, "00280103") ?? 0) === 1;
  const photometric = str(ds, "00280004") ?? "MONOCHROME2";
  const frames = pixelBytes(ds, path);

  if (ts === JPEG_BASELINE) {
    // dcmjs hands encapsulated data over as one buffer per frame.
    const { data, info } = await sharp(frames[0]).toColourspace("srgb").removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.channels === 3) return { width: info.width, height: info.height, data: new Uint8Array(data) };
    const rgb = new Uint8Array(info.width * info.height * 3);
    for (let i = 0; i < info.width * info.height; i++) rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = data[i * info.channels];
    return { width: info.width, height: info.height, data: rgb };
  }
  if (!NATIVE_SYNTAXES.has(ts)) {
    throw new DicomError(path, `uses transfer syntax ${ts}, which medfcl cannot decode; export it as uncompressed or baseline JPEG (1.2.840.10008.1.2.4.50) first`, {
      details: { transferSyntax: ts },
    });
  }
  const raw = frames[0];
  const n = rows * cols;
  if (spp === 3) {
    if (bits !== 8) throw new DicomError(path, `has ${bits}-bit colour samples; only 8-bit RGB is rendered`);
    if (raw.length < n * 3) throw new DicomError(path, "Pixel Data is shorter than Rows × Columns × 3");
    const planar = (num(ds, "00280006") ?? 0) === 1;
    const data = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) data[i * 3 + c] = planar ? raw[c * n + i] : raw[i * 3 + c];
    }
    if (photometric.startsWith("YBR_FULL")) {
      for (let i = 0; i < n; i++) {
        const y = data[i * 3];
        const cb = data[i * 3 + 1] - 128;
        const cr = data[i * 3 + 2] - 128;
        data[i * 3] = Math.max(0, Math.min(255, Math.round(y + 1.402 * cr)));
        data[i * 3 + 1] = Math.max(0, Math.min(255, Math.round(y - 0.344136 * cb - 0.714136 * cr)));
        data[i * 3 + 2] = Math.max(0, Math.min(255, Math.round(y + 1.772 * cb)));
      }
    }
    return { width: cols, height: rows, data };
  }
  if (spp !== 1) throw new DicomError(path, `has ${spp} samples per pixel; only 1 (grey) or 3 (RGB) are rendered`);
  if (bits !== 8 && bits !== 16) throw new DicomError(path, `has Bits Allocated ${bits}; only 8 and 16 are rendered`);
  const bytesPer = bits / 8;
  if (raw.length < n * bytesPer) throw new DicomError(path, "Pixel Data is shorter than Rows × Columns × Bits Allocated");
  // dcmjs hands native pixel bytes over in the file's byte order.
  const littleEndian = ts !== "1.2.840.10008.1.2.2";
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const slope = num(ds, "00281053") ?? 1;
  const intercept = num(ds, "00281052") ?? 0;
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    if (bits === 8) v = signed ? view.getInt8(i) : view.getUint8(i);
    else v = signed ? view.getInt16(i * 2, littleEndian) : view.getUint16(i * 2, littleEndian);
    values[i] = v * slope + intercept;
  }
  return windowToRgb(values, cols, rows, ds, photometric === "MONOCHROME1");
}
