import type { TensorMap } from "../../tensors/index.js";
import { CheckpointError, ModelOptionError } from "../core/errors.js";
import { bytesToF32, decodeRawSafetensors, encodeRawSafetensors, type RawTensor } from "./safetensors.js";

export type DeltaEncoding = "fp32" | "fp16" | "int8" | "topk";
export const DELTA_ENCODINGS: readonly DeltaEncoding[] = ["fp32", "fp16", "int8", "topk"];

/** Metadata keys written by encodeDelta (besides the caller's). */
export const DELTA_META = {
  encoding: "medfcl.delta.encoding",
  /** JSON {name: [scale, min]} for int8. */
  int8: "medfcl.delta.int8",
  /** JSON {name: shape} for topk (the sparse tensors are 1-D). */
  shapes: "medfcl.delta.shapes",
  /** Fraction of entries topk keeps per tensor (caller may set it; default 0.1). */
  topkFraction: "topk_fraction",
} as const;

function f32ToF16(v: number): number {
  // Round-to-nearest-even conversion via the float32 bit pattern.
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  e = h >>> 10;
  return sign | h;
}

export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * Encodes a weight delta (`local − base`) as safetensors. fp16 halves the size; int8 stores
 * round((x − min)/scale) − 128 with a per-tensor affine (scale, min) in the metadata; topk keeps the
 * largest-|x| fraction of each tensor as (index I32, value F32) pairs.
 */
export function encodeDelta(delta: TensorMap, enc: DeltaEncoding, meta: Record<string, string>): Buffer {
  const raw = new Map<string, RawTensor>();
  const metadata: Record<string, string> = { ...meta, [DELTA_META.encoding]: enc };
  switch (enc) {
    case "fp32":
      for (const [name, t] of delta) raw.set(name, { dtype: "F32", shape: t.shape, bytes: new Uint8Array(new Float32Array(t.data).buffer) });
      break;
    case "fp16":
      for (const [name, t] of delta) {
        const h = new Uint16Array(t.data.length);
        for (let i = 0; i < h.length; i++) h[i] = f32ToF16(t.data[i]);
        raw.set(name, { dtype: "F16", shape: t.shape, bytes: new Uint8Array(h.buffer) });
      }
      break;
    case "int8": {
      const params: Record<string, [number, number]> = {};
      for (const [name, t] of delta) {
        let lo = Infinity;
        let hi = -Infinity;
        for (const v of t.data) {
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        if (t.data.length === 0) lo = hi = 0;
        const scale = hi > lo ? (hi - lo) / 255 : 1;
        const q = new Int8Array(t.data.length);
        for (let i = 0; i < q.length; i++) q[i] = Math.max(-128, Math.min(127, Math.round((t.data[i] - lo) / scale) - 128));
        params[name] = [scale, lo];
        raw.set(name, { dtype: "I8", shape: t.shape, bytes: new Uint8Array(q.buffer) });
      }
      metadata[DELTA_META.int8] = JSON.stringify(params);
      break;
    }
    case "topk": {
      const frac = meta[DELTA_META.topkFraction] === undefined ? 0.1 : Number(meta[DELTA_META.topkFraction]);
      if (!(frac > 0 && frac <= 1)) throw new ModelOptionError(DELTA_META.topkFraction, `must be in (0, 1], got ${meta[DELTA_META.topkFraction]}`);
      metadata[DELTA_META.topkFraction] = String(frac);
      const shapes: Record<string, number[]> = {};
      for (const [name, t] of delta) {
        const k = Math.min(t.data.length, Math.max(1, Math.ceil(frac * t.data.length)));
        const order = Array.from({ length: t.data.length }, (_, i) => i).sort((a, b) => Math.abs(t.data[b]) - Math.abs(t.data[a]) || a - b);
        const idx = Int32Array.from(order.slice(0, k)).sort();
        const val = Float32Array.from(idx, (i) => t.data[i]);
        shapes[name] = t.shape;
        raw.set(`${name}.__idx`, { dtype: "I32", shape: [k], bytes: new Uint8Array(idx.buffer) });
        raw.set(`${name}.__val`, { dtype: "F32", shape: [k], bytes: new Uint8Array(val.buffer) });
      }
      metadata[DELTA_META.shapes] = JSON.stringify(shapes);
      break;
    }
    default: {
      const never: never = enc;
      throw new ModelOptionError("encoding", `unknown delta encoding "${String(never)}"; use ${DELTA_ENCODINGS.join(", ")}`);
    }
  }
  return encodeRawSafetensors(raw, metadata);
}

export function parseMetaJson<T>(metadata: Record<string, string>, key: string): T {
  try {
    return JSON.parse(metadata[key] ?? "") as T;
  } catch (err) {
    throw new CheckpointError(`delta metadata "${key}" is missing or not JSON; the file is corrupt`, { cause: err, details: { key } });
  }
}

/** The largest delta decoded when no base layout bounds it: 64 Mi float32 elements (256 MiB). */
export const MAX_DELTA_ELEMENTS = 64 * 1024 * 1024;

export interface DecodeDeltaOptions {
  /**
   * The base model's layout. When given, every tensor (and every topk shape) must be one of these
   * with the same shape, checked before any tensor is allocated.
   */
  expect?: { name: string; shape: number[] }[];
  /** Hard cap on the decoded elements in all, checked before allocating (default MAX_DELTA_ELEMENTS). */
  maxElements?: number;
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** Elements of `shape`, or Infinity past `cap` (no overflow on lying shapes). */
function elementsOf(shape: number[], cap: number): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n > cap) return Infinity;
  }
  return n;
}

/**
 * Checks each output tensor's declared shape before it is allocated (against the base layout and
 * the element cap, counted over all tensors admitted so far); returns its element count.
 */
export function deltaAdmitter(opts: DecodeDeltaOptions): (name: string, shape: unknown) => number {
  const cap = opts.maxElements ?? MAX_DELTA_ELEMENTS;
  const expected = opts.expect ? new Map(opts.expect.map((t) => [t.name, t.shape])) : null;
  let total = 0;
  return (name, shape) => {
    if (!Array.isArray(shape) || !shape.every(isCount)) throw new CheckpointError(`delta tensor "${name}" declares a malformed shape`, { details: { tensor: name } });
    if (expected) {
      const want = expected.get(name);
      if (!want) throw new CheckpointError(`delta has tensor "${name}", which the base model does not`, { details: { tensor: name } });
      if (want.length !== shape.length || want.some((d, k) => d !== shape[k])) {
        throw new CheckpointError(`delta tensor "${name}" has shape [${shape.join(",").slice(0, 200)}] but the base model has [${want}]`, { details: { tensor: name } });
      }
    }
    const n = elementsOf(shape, cap);
    total += n;
    if (total > cap) throw new CheckpointError(`delta declares more than ${cap} elements (tensor "${name}"); refused before decoding`, { details: { tensor: name, limit: cap } });
    return n;
  };
}

/**
 * Decodes any encodeDelta output back to float32 tensors (order as written). Declared sizes are
 * checked against `opts.expect` and `opts.maxElements` before the float32 tensors are allocated:
 * a small file cannot make the decoder allocate what it merely declares.
 */
export function decodeDelta(buf: Uint8Array, opts: DecodeDeltaOptions = {}): { delta: TensorMap; metadata: Record<string, string> } {
  const { tensors, metadata } = decodeRawSafetensors(buf);
  const enc = (metadata[DELTA_META.encoding] ?? "fp32") as DeltaEncoding;
  const admit = deltaAdmitter(opts);
  const delta: TensorMap = new Map();
  switch (enc) {
    case "fp32":
    case "fp16":
      for (const [name, r] of tensors) admit(name, r.shape);
      for (const [name, r] of tensors) {
        let data: Float32Array;
        if (r.dtype === "F32") data = bytesToF32(r.bytes);
        else if (r.dtype === "F16") {
          const dv = new DataView(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
          data = new Float32Array(r.bytes.byteLength / 2);
          for (let i = 0; i < data.length; i++) data[i] = f16ToF32(dv.getUint16(2 * i, true));
        } else throw new CheckpointError(`delta tensor "${name}" has dtype ${r.dtype}, expected F32/F16 for encoding ${enc}`, { details: { tensor: name } });
        delta.set(name, { dtype: "float32", shape: r.shape, data });
      }
      break;
    case "int8": {
      const params = parseMetaJson<Record<string, unknown>>(metadata, DELTA_META.int8);
      if (typeof params !== "object" || params === null) throw new CheckpointError(`delta metadata "${DELTA_META.int8}" is not an object`, { details: { key: DELTA_META.int8 } });
      for (const [name, r] of tensors) admit(name, r.shape);
      for (const [name, r] of tensors) {
        const p = Object.hasOwn(params, name) ? params[name] : undefined;
        if (!Array.isArray(p) || p.length !== 2 || !p.every((x) => typeof x === "number" && Number.isFinite(x)) || r.dtype !== "I8") {
          throw new CheckpointError(`int8 delta tensor "${name}" lacks its scale/min or is not I8`, { details: { tensor: name } });
        }
        const [scale, min] = p as [number, number];
        const q = new Int8Array(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
        delta.set(name, { dtype: "float32", shape: r.shape, data: Float32Array.from(q, (v) => (v + 128) * scale + min) });
      }
      break;
    }
    case "topk": {
      const shapes = parseMetaJson<Record<string, unknown>>(metadata, DELTA_META.shapes);
      if (typeof shapes !== "object" || shapes === null || Array.isArray(shapes)) throw new CheckpointError(`delta metadata "${DELTA_META.shapes}" is not an object`, { details: { key: DELTA_META.shapes } });
      const plan: { name: string; shape: number[]; n: number; idx: Int32Array; val: Float32Array }[] = [];
      for (const [name, shape] of Object.entries(shapes)) {
        const n = admit(name, shape);
        const ri = tensors.get(`${name}.__idx`);
        const rv = tensors.get(`${name}.__val`);
        if (!ri || !rv) throw new CheckpointError(`topk delta lacks "${name}.__idx" or "${name}.__val"`, { details: { tensor: name } });
        if (ri.dtype !== "I32" || rv.dtype !== "F32" || ri.bytes.byteLength !== rv.bytes.byteLength) {
          throw new CheckpointError(`topk delta "${name}": indices must be I32 and values F32, one value per index`, { details: { tensor: name } });
        }
        const idx = new Int32Array(ri.bytes.slice().buffer);
        for (const i of idx) if (i < 0 || i >= n) throw new CheckpointError(`topk delta "${name}" has index ${i} outside its ${n} elements`, { details: { tensor: name } });
        plan.push({ name, shape: shape as number[], n, idx, val: bytesToF32(rv.bytes) });
      }
      if (tensors.size !== 2 * plan.length) throw new CheckpointError(`topk delta holds ${tensors.size} tensors, not an index and a value tensor per shape`, { details: { key: DELTA_META.shapes } });
      // Allocated only now: every shape is admitted and every index is in range.
      for (const t of plan) {
        const data = new Float32Array(t.n);
        for (let i = 0; i < t.idx.length; i++) data[t.idx[i]] = t.val[i];
        delta.set(t.name, { dtype: "float32", shape: t.shape, data });
      }
      break;
    }
    default:
      throw new CheckpointError(`unknown delta encoding "${String(enc)}" in the file's metadata`, { details: { encoding: enc } });
  }
  return { delta, metadata };
}
