import type { TensorMap } from "../tensors/index.js";
import { CheckpointError, ModelOptionError } from "./errors.js";
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

function f16ToF32(h: number): number {
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

function parseMetaJson<T>(metadata: Record<string, string>, key: string): T {
  try {
    return JSON.parse(metadata[key] ?? "") as T;
  } catch (err) {
    throw new CheckpointError(`delta metadata "${key}" is missing or not JSON; the file is corrupt`, { cause: err, details: { key } });
  }
}

/** Decodes any encodeDelta output back to float32 tensors (order as written). */
export function decodeDelta(buf: Uint8Array): { delta: TensorMap; metadata: Record<string, string> } {
  const { tensors, metadata } = decodeRawSafetensors(buf);
  const enc = (metadata[DELTA_META.encoding] ?? "fp32") as DeltaEncoding;
  const delta: TensorMap = new Map();
  switch (enc) {
    case "fp32":
    case "fp16":
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
      const params = parseMetaJson<Record<string, [number, number]>>(metadata, DELTA_META.int8);
      for (const [name, r] of tensors) {
        const p = params[name];
        if (!p || r.dtype !== "I8") throw new CheckpointError(`int8 delta tensor "${name}" lacks its scale/min or is not I8`, { details: { tensor: name } });
        const q = new Int8Array(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
        delta.set(name, { dtype: "float32", shape: r.shape, data: Float32Array.from(q, (v) => (v + 128) * p[0] + p[1]) });
      }
      break;
    }
    case "topk": {
      const shapes = parseMetaJson<Record<string, number[]>>(metadata, DELTA_META.shapes);
      for (const [name, shape] of Object.entries(shapes)) {
        const ri = tensors.get(`${name}.__idx`);
        const rv = tensors.get(`${name}.__val`);
        if (!ri || !rv) throw new CheckpointError(`topk delta lacks "${name}.__idx" or "${name}.__val"`, { details: { tensor: name } });
        const idx = new Int32Array(ri.bytes.buffer, ri.bytes.byteOffset, ri.bytes.byteLength / 4);
        const val = bytesToF32(rv.bytes);
        const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
        for (let i = 0; i < idx.length; i++) data[idx[i]] = val[i];
        delta.set(name, { dtype: "float32", shape, data });
      }
      break;
    }
    default:
      throw new CheckpointError(`unknown delta encoding "${String(enc)}" in the file's metadata`, { details: { encoding: enc } });
  }
  return { delta, metadata };
}
