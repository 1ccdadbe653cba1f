import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type { NamedTensor, TensorMap } from "../../tensors/index.js";
import { CheckpointError } from "../core/errors.js";

/** safetensors dtypes this module reads/writes. Everything decodes to float32 NamedTensors. */
export type StDtype = "F32" | "F16" | "I8" | "U8" | "I32";

export interface RawTensor {
  dtype: StDtype;
  shape: number[];
  bytes: Uint8Array;
}

const ELEM: Record<StDtype, number> = { F32: 4, F16: 2, I8: 1, U8: 1, I32: 4 };

/**
 * safetensors layout: u64 little-endian header length, a JSON header {name: {dtype, shape,
 * data_offsets: [begin, end]}, "__metadata__": {string: string}} padded with spaces to 8 bytes, then
 * the raw little-endian tensor bytes in header order.
 */
export function encodeRawSafetensors(tensors: Map<string, RawTensor>, metadata: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new CheckpointError(`safetensors metadata "${k}" must be a string`, { details: { key: k } });
    }
    header.__metadata__ = metadata;
  }
  let off = 0;
  for (const [name, t] of tensors) {
    const expect = t.shape.reduce((a, b) => a * b, 1) * ELEM[t.dtype];
    if (expect !== t.bytes.length) throw new CheckpointError(`tensor "${name}" has ${t.bytes.length} bytes, its shape [${t.shape}] needs ${expect}`, { details: { tensor: name } });
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.bytes.length] };
    off += t.bytes.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const hbytes = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + hbytes.length + off);
  out.writeBigUInt64LE(BigInt(hbytes.length), 0);
  hbytes.copy(out, 8);
  let p = 8 + hbytes.length;
  for (const t of tensors.values()) {
    out.set(t.bytes, p);
    p += t.bytes.length;
  }
  return out;
}

/** Largest safetensors JSON header read (the nano and small models' headers are a few KiB). */
export const MAX_SAFETENSORS_HEADER_BYTES = 16 * 1024 * 1024;

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** One tensor as a safetensors header declares it; `begin`/`end` are offsets into the data section. */
export interface SafetensorsEntry {
  dtype: StDtype;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parses a safetensors JSON header for a data section of `dataBytes` bytes. Every declared size is
 * checked before anything is allocated: each shape (non-negative safe integers), each tensor's
 * offsets (inside the data section, matching its shape). Entries come in header order.
 */
export function parseSafetensorsHeader(json: string, dataBytes: number): { entries: [string, SafetensorsEntry][]; metadata: Record<string, string> } {
  let header: unknown;
  try {
    header = JSON.parse(json);
  } catch (err) {
    throw new CheckpointError("safetensors header is not valid JSON; the file is corrupt", { cause: err });
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw new CheckpointError("safetensors header is not a JSON object; the file is corrupt");
  const metadata: Record<string, string> = {};
  const meta = (header as Record<string, unknown>).__metadata__;
  if (meta && typeof meta === "object") for (const [k, v] of Object.entries(meta as Record<string, unknown>)) metadata[k] = typeof v === "string" ? v : JSON.stringify(v) ?? "";
  const entries: [string, SafetensorsEntry][] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") continue;
    const i = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (
      !i ||
      typeof i !== "object" ||
      typeof i.dtype !== "string" ||
      !Object.hasOwn(ELEM, i.dtype) ||
      !Array.isArray(i.shape) ||
      !i.shape.every(isCount) ||
      !Array.isArray(i.data_offsets) ||
      i.data_offsets.length !== 2 ||
      !i.data_offsets.every(isCount)
    ) {
      throw new CheckpointError(`safetensors tensor "${name}" has an unsupported dtype or a malformed entry (${JSON.stringify(info)?.slice(0, 200)})`, { details: { tensor: name } });
    }
    const dtype = i.dtype as StDtype;
    const shape = i.shape as number[];
    const [s, e] = i.data_offsets as [number, number];
    // The element count is bounded by the data section before it is multiplied out, so no product overflows.
    let elements = 1;
    for (const d of shape) {
      elements *= d;
      if (elements * ELEM[dtype] > dataBytes) break;
    }
    const need = elements * ELEM[dtype];
    if (s > e || e - s !== need || e > dataBytes) {
      throw new CheckpointError(`safetensors tensor "${name}" offsets [${s}, ${e}] do not fit its shape [${shape.join(",").slice(0, 200)}] or the file size; the file is truncated or corrupt`, { details: { tensor: name } });
    }
    entries.push([name, { dtype, shape, begin: s, end: e }]);
  }
  return { entries, metadata };
}

/** The JSON header's length from a file's first 8 bytes, checked against the file size and the limit. */
export function safetensorsHeaderLength(first8: Uint8Array, fileBytes: number): number {
  if (fileBytes < 8 || first8.byteLength < 8) throw new CheckpointError(`not a safetensors file: ${fileBytes} bytes is shorter than the 8-byte header length`);
  const declared = Buffer.from(first8.buffer, first8.byteOffset, 8).readBigUInt64LE(0);
  if (declared > BigInt(fileBytes - 8) || declared > BigInt(MAX_SAFETENSORS_HEADER_BYTES)) {
    throw new CheckpointError(`not a safetensors file (or truncated): header length ${declared} exceeds the file size ${fileBytes} or the ${MAX_SAFETENSORS_HEADER_BYTES}-byte limit`);
  }
  return Number(declared);
}

/** The header of a safetensors file on disk, read without its data section. */
export function readSafetensorsHeader(path: string): { entries: [string, SafetensorsEntry][]; metadata: Record<string, string> } {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const first8 = Buffer.alloc(8);
    readSync(fd, first8, 0, 8, 0);
    const hlen = safetensorsHeaderLength(first8, size);
    const json = Buffer.alloc(hlen);
    if (readSync(fd, json, 0, hlen, 8) !== hlen) throw new CheckpointError(`${path}: the safetensors header ends early; the file is truncated`, { details: { file: path } });
    return parseSafetensorsHeader(json.toString("utf8"), size - 8 - hlen);
  } finally {
    closeSync(fd);
  }
}

/**
 * Decodes a safetensors buffer. Every declared size is checked against the buffer before anything
 * is allocated (parseSafetensorsHeader), so a lying file costs at most its own size.
 */
export function decodeRawSafetensors(buf: Uint8Array): { tensors: Map<string, RawTensor>; metadata: Record<string, string> } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlen = safetensorsHeaderLength(b, b.length);
  const dataStart = 8 + hlen;
  const { entries, metadata } = parseSafetensorsHeader(b.subarray(8, dataStart).toString("utf8"), b.length - dataStart);
  const tensors = new Map<string, RawTensor>();
  // Copy, so the result owns aligned memory independent of `buf`.
  for (const [name, e] of entries) tensors.set(name, { dtype: e.dtype, shape: e.shape, bytes: new Uint8Array(b.subarray(dataStart + e.begin, dataStart + e.end)) });
  return { tensors, metadata };
}

function f32Bytes(a: Float32Array): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setFloat32(4 * i, a[i], true);
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function bytesToF32(bytes: Uint8Array): Float32Array {
  if (LITTLE_ENDIAN) {
    // One bulk copy into a fresh, aligned buffer (safetensors offsets need not be 4-aligned).
    const out = new Float32Array(bytes.byteLength / 4);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(4 * i, true);
  return out;
}

/** float32 TensorMap → safetensors (F32), tensors in map order. */
export function encodeSafetensors(t: TensorMap, metadata: Record<string, string>): Buffer {
  const raw = new Map<string, RawTensor>();
  for (const [name, nt] of t) raw.set(name, { dtype: "F32", shape: nt.shape, bytes: f32Bytes(nt.data) });
  return encodeRawSafetensors(raw, metadata);
}

/** safetensors (F32 tensors) → float32 TensorMap, in file order. */
export function decodeSafetensors(buf: Uint8Array): { tensors: TensorMap; metadata: Record<string, string> } {
  const { tensors, metadata } = decodeRawSafetensors(buf);
  const out: TensorMap = new Map();
  for (const [name, r] of tensors) {
    if (r.dtype !== "F32") throw new CheckpointError(`tensor "${name}" is ${r.dtype}; checkpoints hold F32 (use decodeDelta for encoded deltas)`, { details: { tensor: name } });
    const nt: NamedTensor = { dtype: "float32", shape: r.shape, data: bytesToF32(r.bytes) };
    out.set(name, nt);
  }
  return { tensors: out, metadata };
}
