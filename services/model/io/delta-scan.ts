/**
 * Validates an encoded delta as its bytes arrive, tensor by tensor, without decoding it to float32
 * tensors: the coordinator checks an upload while it streams to disk and never holds it whole.
 *
 * It applies the same rules as decodeDelta followed by a finiteness and norm check over the decoded
 * tensors, with the same messages: the safetensors header (length, JSON, each entry's dtype, shape
 * and offsets against the declared file size), the encoding's metadata, each tensor's name and shape
 * against the base layout, the element cap, topk indices in range; then, per output tensor, whether
 * it holds NaN/±Inf and its contribution to the L2 norm, accumulated in float64 over the values as
 * decodeDelta would store them (float32), in the decoded tensors' order. For the layout encodeDelta
 * writes (tensors in header order, back to back) the norm is bit-identical to l2Norm(decodeDelta());
 * for any other layout each tensor's sum is taken alone and the sums are added in tensor order.
 *
 * Where one file has several faults, all header faults are reported before any data fault (decodeDelta
 * reports a topk index out of range for an earlier tensor before a header fault of a later one).
 */
import { CheckpointError } from "../core/errors.js";
import { DELTA_META, deltaAdmitter, f16ToF32, parseMetaJson, type DecodeDeltaOptions, type DeltaEncoding } from "./delta.js";
import { parseSafetensorsHeader, safetensorsHeaderLength, type SafetensorsEntry, type StDtype } from "./safetensors.js";

/** What the delta decodes to, short of the values: the checks the coordinator runs on it. */
export interface DeltaSummary {
  /** Output tensors in decoded order (file order; topk: the order of its shapes metadata). */
  tensors: { name: string; shape: number[] }[];
  /** The first tensor (in that order) holding a NaN or ±Infinity, or null. */
  firstNonFinite: string | null;
  /** Global L2 norm over the decoded float32 values; NaN or Infinity when firstNonFinite is set. */
  norm: number;
}

const ELEM: Record<StDtype, number> = { F32: 4, F16: 2, I8: 1, U8: 1, I32: 4 };
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Float64 running sum of squares; shared by all tensors when the file is laid out canonically. */
interface SumSquares {
  s: number;
}

/** Receives one segment's bytes in order. */
interface SegmentSink {
  feed(bytes: Uint8Array): void;
  end(): void;
}

interface Segment {
  begin: number;
  end: number;
  sink: SegmentSink;
  fed: number;
}

let f16Table: Float32Array | null = null;
function f16Values(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16ToF32(h);
  }
  return f16Table;
}

/** A multiple of every element width, small enough to stay in L2 cache. */
const SCRATCH_BYTES = 64 * 1024;

/**
 * Feeds whole elements of `width` bytes to `consume` as an aligned typed-array view, carrying a
 * partial element across calls. Unaligned input is copied through a reused scratch buffer.
 */
class ElementStream {
  private carry: Uint8Array;
  private carried = 0;
  private scratch = new Uint8Array(SCRATCH_BYTES);

  constructor(
    private readonly width: number,
    private readonly consume: (aligned: Uint8Array) => void,
  ) {
    this.carry = new Uint8Array(width);
  }

  feed(bytes: Uint8Array): void {
    let p = 0;
    if (this.carried > 0) {
      const take = Math.min(this.width - this.carried, bytes.length);
      this.carry.set(bytes.subarray(0, take), this.carried);
      this.carried += take;
      p = take;
      if (this.carried < this.width) return;
      this.consume(this.carry);
      this.carried = 0;
    }
    const whole = Math.floor((bytes.length - p) / this.width) * this.width;
    if (whole > 0) {
      const body = bytes.subarray(p, p + whole);
      if (body.byteOffset % this.width === 0) this.consume(body);
      else {
        // Unaligned (a gRPC message's payload starts where its framing ends): copied block by
        // block into a small scratch buffer that stays in cache while it is summed.
        for (let q = 0; q < whole; q += SCRATCH_BYTES) {
          const block = body.subarray(q, Math.min(whole, q + SCRATCH_BYTES));
          const copy = this.scratch.subarray(0, block.length);
          copy.set(block);
          this.consume(copy);
        }
      }
      p += whole;
    }
    if (p < bytes.length) {
      this.carry.set(bytes.subarray(p), 0);
      this.carried = bytes.length - p;
    }
  }
}

function f32Values(b: Uint8Array): Float32Array {
  if (LITTLE_ENDIAN) return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Float32Array.from({ length: b.byteLength / 4 }, (_, i) => dv.getFloat32(4 * i, true));
}

function u16Values(b: Uint8Array): Uint16Array {
  if (LITTLE_ENDIAN) return new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Uint16Array.from({ length: b.byteLength / 2 }, (_, i) => dv.getUint16(2 * i, true));
}

function i32Values(b: Uint8Array): Int32Array {
  if (LITTLE_ENDIAN) return new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Int32Array.from({ length: b.byteLength / 4 }, (_, i) => dv.getInt32(4 * i, true));
}

function sumF32(acc: SumSquares, b: Uint8Array): void {
  const f = f32Values(b);
  let s = acc.s;
  for (let i = 0; i < f.length; i++) s += f[i] * f[i];
  acc.s = s;
}

function sumF16(acc: SumSquares, b: Uint8Array): void {
  const h = u16Values(b);
  const table = f16Values();
  let s = acc.s;
  for (let i = 0; i < h.length; i++) {
    const v = table[h[i]];
    s += v * v;
  }
  acc.s = s;
}

/** A whole segment gathered into one aligned buffer (topk's index and value tensors). */
class Gather implements SegmentSink {
  readonly bytes: Uint8Array;
  private at = 0;
  constructor(
    length: number,
    private readonly done: () => void,
  ) {
    this.bytes = new Uint8Array(length);
  }
  feed(b: Uint8Array): void {
    this.bytes.set(b, this.at);
    this.at += b.length;
  }
  end(): void {
    this.done();
  }
}

interface Unit {
  name: string;
  shape: number[];
  acc: SumSquares;
  /** Set once every segment of the unit has ended. */
  complete: boolean;
  nonFinite: boolean;
}

type RawEntry = SafetensorsEntry;

/**
 * An incremental delta validator for a file of `size` bytes. push() takes the bytes in order and
 * never throws (the first fault is kept, and later bytes are ignored; so are bytes past `size`, which
 * finish() reports); finish() returns the summary or throws the fault as a CheckpointError.
 */
export class DeltaScanner {
  private pos = 0;
  private head: Uint8Array = new Uint8Array(8);
  private headFill = 0;
  private headerLength = -1;
  private dataStart = -1;
  private segments: Segment[] = [];
  /** Index of the first segment not yet ended (segments are sorted by begin). */
  private nextSegment = 0;
  private active: Segment[] = [];
  private units: Unit[] = [];
  private fault: unknown = null;
  /** All units add to one running sum (the canonical layout; they then complete in order). */
  private shared = false;
  private poisoned = false;

  constructor(
    private readonly size: number,
    private readonly options: DecodeDeltaOptions = {},
  ) {
    if (!isCount(size)) throw new CheckpointError(`delta size ${size} is not a byte count`);
    if (size < 8) this.fault = new CheckpointError(`not a safetensors file: ${size} bytes is shorter than the 8-byte header length`);
  }

  push(chunk: Uint8Array): void {
    if (this.fault) return;
    try {
      this.take(chunk.subarray(0, Math.max(0, Math.min(chunk.length, this.size - this.pos))));
    } catch (err) {
      this.fault = err;
    }
    this.pos += chunk.length;
  }

  finish(): DeltaSummary {
    if (this.fault) throw this.fault;
    if (this.pos > this.size) throw new CheckpointError(`delta has ${this.pos} bytes, more than the ${this.size} it declared`);
    if (this.pos < this.size || this.dataStart < 0) {
      throw new CheckpointError(`delta ended after ${this.pos} of its ${this.size} bytes; the file is truncated`);
    }
    // Empty tensors at the very end of the data section are reached by no byte.
    for (const seg of [...this.active, ...this.segments.slice(this.nextSegment)]) if (seg.fed === seg.end - seg.begin) seg.sink.end();
    const pending = this.units.find((u) => !u.complete);
    if (pending) throw new CheckpointError(`delta tensor "${pending.name}" did not receive all its bytes; the file is truncated`, { details: { tensor: pending.name } });
    let s = 0;
    if (this.shared) s = this.units[0].acc.s;
    else for (const u of this.units) s += u.acc.s;
    const firstBad = this.units.find((u) => u.nonFinite);
    return { tensors: this.units.map((u) => ({ name: u.name, shape: u.shape })), firstNonFinite: firstBad ? firstBad.name : null, norm: Math.sqrt(s) };
  }

  /**
   * A finite sum of squares turns NaN or infinite exactly when a value is (the largest float32
   * squared, times the element cap, is far below float64's range). In the shared sum the unit
   * during which it turned is the first such tensor, since units then complete in order.
   */
  private complete(unit: Unit): void {
    if (unit.complete) return;
    unit.complete = true;
    if (Number.isFinite(unit.acc.s)) return;
    if (!this.shared) unit.nonFinite = true;
    else if (!this.poisoned) {
      this.poisoned = true;
      unit.nonFinite = true;
    }
  }

  private take(bytes: Uint8Array): void {
    let p = 0;
    if (this.headerLength < 0) {
      p = this.fillHead(bytes, 0, 8);
      if (this.headFill < 8) return;
      this.headerLength = safetensorsHeaderLength(this.head, this.size);
      this.head = new Uint8Array(8 + this.headerLength);
    }
    if (this.dataStart < 0) {
      p = this.fillHead(bytes, p, 8 + this.headerLength);
      if (this.headFill < 8 + this.headerLength) return;
      this.plan(Buffer.from(this.head.buffer, 8, this.headerLength).toString("utf8"));
      this.dataStart = 8 + this.headerLength;
      this.head = new Uint8Array(0);
    }
    if (p < bytes.length) this.feedData(bytes.subarray(p), this.pos + p - this.dataStart);
  }

  private fillHead(bytes: Uint8Array, from: number, upTo: number): number {
    const take = Math.min(upTo - this.headFill, bytes.length - from);
    this.head.set(bytes.subarray(from, from + take), this.headFill);
    this.headFill += take;
    return from + take;
  }

  /** Routes data bytes at data offset `at` to every segment they overlap. */
  private feedData(bytes: Uint8Array, at: number): void {
    const stop = at + bytes.length;
    while (this.nextSegment < this.segments.length && this.segments[this.nextSegment].begin < stop) {
      this.active.push(this.segments[this.nextSegment++]);
    }
    // Zero-length segments end as soon as they are reached.
    for (const seg of this.active) {
      const from = Math.max(seg.begin, at);
      const to = Math.min(seg.end, stop);
      if (to > from) {
        seg.sink.feed(bytes.subarray(from - at, to - at));
        seg.fed += to - from;
      }
      if (seg.fed === seg.end - seg.begin) seg.sink.end();
    }
    this.active = this.active.filter((seg) => seg.fed < seg.end - seg.begin);
  }

  /** Every check that needs only the header, then the segments that the data bytes will feed. */
  private plan(json: string): void {
    const { entries, metadata } = parseSafetensorsHeader(json, this.size - 8 - this.headerLength);
    const enc = (metadata[DELTA_META.encoding] ?? "fp32") as DeltaEncoding;
    const admit = deltaAdmitter(this.options);
    const segments: Segment[] = [];
    const units: { unit: Unit; begin: number; end: number }[] = [];
    const segment = (e: RawEntry, sink: SegmentSink): void => void segments.push({ begin: e.begin, end: e.end, sink, fed: 0 });
    const unitOf = (name: string, shape: number[]): Unit => ({ name, shape, acc: { s: 0 }, complete: false, nonFinite: false });
    const complete = (unit: Unit): void => this.complete(unit);
    switch (enc) {
      case "fp32":
      case "fp16": {
        for (const [name, r] of entries) admit(name, r.shape);
        for (const [name, r] of entries) {
          if (r.dtype !== "F32" && r.dtype !== "F16") {
            throw new CheckpointError(`delta tensor "${name}" has dtype ${r.dtype}, expected F32/F16 for encoding ${enc}`, { details: { tensor: name } });
          }
          const unit = unitOf(name, r.shape);
          const width = ELEM[r.dtype];
          const sum = r.dtype === "F32" ? sumF32 : sumF16;
          const elements = new ElementStream(width, (b) => sum(unit.acc, b));
          segment(r, { feed: (b) => elements.feed(b), end: () => complete(unit) });
          units.push({ unit, begin: r.begin, end: r.end });
        }
        break;
      }
      case "int8": {
        const params = parseMetaJson<Record<string, unknown>>(metadata, DELTA_META.int8);
        if (typeof params !== "object" || params === null) throw new CheckpointError(`delta metadata "${DELTA_META.int8}" is not an object`, { details: { key: DELTA_META.int8 } });
        for (const [name, r] of entries) admit(name, r.shape);
        for (const [name, r] of entries) {
          const p = Object.hasOwn(params, name) ? params[name] : undefined;
          if (!Array.isArray(p) || p.length !== 2 || !p.every((x) => typeof x === "number" && Number.isFinite(x)) || r.dtype !== "I8") {
            throw new CheckpointError(`int8 delta tensor "${name}" lacks its scale/min or is not I8`, { details: { tensor: name } });
          }
          const [scale, min] = p as [number, number];
          // The float32 value decodeDelta stores for each of the 256 codes.
          const values = Float32Array.from({ length: 256 }, (_, k) => k * scale + min);
          const unit = unitOf(name, r.shape);
          segment(r, {
            feed: (b) => {
              const q = new Int8Array(b.buffer, b.byteOffset, b.byteLength);
              let s = unit.acc.s;
              for (let i = 0; i < q.length; i++) {
                const v = values[q[i] + 128];
                s += v * v;
              }
              unit.acc.s = s;
            },
            end: () => complete(unit),
          });
          units.push({ unit, begin: r.begin, end: r.end });
        }
        break;
      }
      case "topk": {
        const shapes = parseMetaJson<Record<string, unknown>>(metadata, DELTA_META.shapes);
        if (typeof shapes !== "object" || shapes === null || Array.isArray(shapes)) throw new CheckpointError(`delta metadata "${DELTA_META.shapes}" is not an object`, { details: { key: DELTA_META.shapes } });
        const byName = new Map(entries);
        const pairs: { name: string; n: number; ri: RawEntry; rv: RawEntry }[] = [];
        for (const [name, shape] of Object.entries(shapes)) {
          const n = admit(name, shape);
          const ri = byName.get(`${name}.__idx`);
          const rv = byName.get(`${name}.__val`);
          if (!ri || !rv) throw new CheckpointError(`topk delta lacks "${name}.__idx" or "${name}.__val"`, { details: { tensor: name } });
          if (ri.dtype !== "I32" || rv.dtype !== "F32" || ri.end - ri.begin !== rv.end - rv.begin) {
            throw new CheckpointError(`topk delta "${name}": indices must be I32 and values F32, one value per index`, { details: { tensor: name } });
          }
          pairs.push({ name, n, ri, rv });
        }
        if (byName.size !== 2 * pairs.length) throw new CheckpointError(`topk delta holds ${byName.size} tensors, not an index and a value tensor per shape`, { details: { key: DELTA_META.shapes } });
        for (const { name, n, ri, rv } of pairs) {
          const unit = unitOf(name, shapes[name] as number[]);
          let ended = 0;
          const idx = new Gather(ri.end - ri.begin, () => void (++ended === 2 && settle()));
          const val = new Gather(rv.end - rv.begin, () => void (++ended === 2 && settle()));
          const settle = (): void => {
            sumTopk(unit, n, i32Values(idx.bytes), f32Values(val.bytes));
            complete(unit);
          };
          segment(ri, idx);
          segment(rv, val);
          units.push({ unit, begin: Math.min(ri.begin, rv.begin), end: Math.max(ri.end, rv.end) });
        }
        break;
      }
      default:
        throw new CheckpointError(`unknown delta encoding "${String(enc)}" in the file's metadata`, { details: { encoding: enc } });
    }
    // The layout encodeDelta writes: each tensor's bytes after the previous one's. Then one running
    // sum over all tensors in order gives l2Norm's exact float64 result.
    const canonical = units.every((u, i) => i === 0 || u.begin >= units[i - 1].end);
    this.shared = canonical && units.length > 0;
    if (this.shared) for (const u of units) u.unit.acc = units[0].unit.acc;
    this.units = units.map((u) => u.unit);
    this.segments = segments.sort((a, b) => a.begin - b.begin);
  }

}

/** A topk tensor's sum of squares as decodeDelta's dense tensor holds it (a later duplicate index wins). */
function sumTopk(unit: Unit, n: number, idx: Int32Array, val: Float32Array): void {
  let increasing = true;
  for (let i = 0; i < idx.length; i++) {
    if (idx[i] < 0 || idx[i] >= n) throw new CheckpointError(`topk delta "${unit.name}" has index ${idx[i]} outside its ${n} elements`, { details: { tensor: unit.name } });
    if (i > 0 && idx[i] <= idx[i - 1]) increasing = false;
  }
  let s = unit.acc.s;
  if (increasing) {
    // The dense tensor's other entries are zeros, which add nothing to the sum.
    for (let i = 0; i < val.length; i++) s += val[i] * val[i];
  } else {
    const dense = new Float32Array(n);
    for (let i = 0; i < idx.length; i++) dense[idx[i]] = val[i];
    for (let i = 0; i < n; i++) s += dense[i] * dense[i];
  }
  unit.acc.s = s;
}

/** Scans a whole delta held in memory (tests, and files read back from the store). */
export function scanDelta(buf: Uint8Array, opts: DecodeDeltaOptions = {}): DeltaSummary {
  const scanner = new DeltaScanner(buf.byteLength, opts);
  scanner.push(buf);
  return scanner.finish();
}
