import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { deltaFacts } from "../../../../coordinator/validation.js";
import { CheckpointError, DELTA_ENCODINGS, DELTA_META, DeltaScanner, decodeDelta, encodeDelta, scanDelta, type DeltaSummary } from "../../../../services/model/index.js";
import { encodeRawSafetensors, type RawTensor } from "../../../../services/model/io/safetensors.js";
import type { TensorMap } from "../../../../services/tensors/index.js";
import { lcgValues } from "../helpers.js";

const SHAPES: [string, number[]][] = [
  ["stem.conv.weight", [3, 3, 3, 8]],
  ["stem.conv.bias", [8]],
  ["head.align.weight", [1, 1, 8, 5]],
  ["text.pos", [7, 3]],
];
const EXPECT = SHAPES.map(([name, shape]) => ({ name, shape }));

function delta(seed: number, plant?: { tensor: number; value: number }): TensorMap {
  const out: TensorMap = new Map();
  SHAPES.forEach(([name, shape], k) => {
    const data = lcgValues(shape.reduce((a, b) => a * b, 1), seed + k).map((v) => v * 1e-2);
    if (plant && plant.tensor === k) data[data.length >> 1] = plant.value;
    out.set(name, { dtype: "float32", shape, data });
  });
  return out;
}

/** Feeds `buf` to a scanner in chunks of `size` bytes. */
function scanInChunks(buf: Uint8Array, size: number, expect = EXPECT): DeltaSummary {
  const scanner = new DeltaScanner(buf.byteLength, { expect });
  for (let off = 0; off < buf.byteLength; off += size) scanner.push(buf.subarray(off, off + size));
  return scanner.finish();
}

/** What the coordinator used to compute: decodeDelta, then firstNonFinite and l2Norm over the tensors. */
function decodedFacts(buf: Uint8Array): ReturnType<typeof deltaFacts> {
  return deltaFacts(decodeDelta(buf, { expect: EXPECT }).delta);
}

function assertSameFacts(got: DeltaSummary, want: ReturnType<typeof deltaFacts>, what: string): void {
  assert.deepEqual(got.tensors, want.tensors, `${what}: tensors`);
  assert.equal(got.firstNonFinite, want.firstNonFinite, `${what}: first non-finite tensor`);
  if (want.firstNonFinite === null) assert.equal(got.norm, want.norm, `${what}: norm (bit-identical)`);
  else assert.ok(!Number.isFinite(got.norm), `${what}: norm of a non-finite delta`);
}

describe("model - streaming delta scan", () => {
  it("model - every encoding scans, in any chunking, to decodeDelta's tensors, first non-finite tensor and bit-identical L2 norm", () => {
    for (const enc of DELTA_ENCODINGS) {
      for (const [k, plant] of [undefined, { tensor: 2, value: NaN }, { tensor: 1, value: Infinity }].entries()) {
        // int8 quantizes a planted NaN/Inf into its scale; those files are made below instead.
        if (plant && enc === "int8") continue;
        const buf = encodeDelta(delta(7 + k, plant), enc, { [DELTA_META.topkFraction]: "0.3" });
        const want = decodedFacts(buf);
        if (plant && enc !== "topk") assert.equal(want.firstNonFinite, SHAPES[plant.tensor][0]);
        for (const size of [1, 3, 5, 64, 4096, buf.length]) assertSameFacts(scanInChunks(buf, size), want, `${enc} plant ${k} chunks of ${size}`);
      }
    }
  });

  it("model - an int8 tensor whose codes overflow float32 is non-finite, as decodeDelta's float32 values are", () => {
    const buf = encodeDelta(delta(3), "int8", {});
    const raw = Buffer.from(buf);
    const hlen = Number(raw.readBigUInt64LE(0));
    const header = JSON.parse(raw.subarray(8, 8 + hlen).toString("utf8")) as { __metadata__: Record<string, string> };
    const params = JSON.parse(header.__metadata__[DELTA_META.int8]) as Record<string, [number, number]>;
    params["head.align.weight"] = [1e37, 3e38];
    const tensors = new Map<string, RawTensor>();
    const dataStart = 8 + hlen;
    for (const [name, info] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      const i = info as unknown as { dtype: "I8"; shape: number[]; data_offsets: [number, number] };
      tensors.set(name, { dtype: i.dtype, shape: i.shape, bytes: raw.subarray(dataStart + i.data_offsets[0], dataStart + i.data_offsets[1]) });
    }
    const lying = encodeRawSafetensors(tensors, { ...header.__metadata__, [DELTA_META.int8]: JSON.stringify(params) });
    const want = decodedFacts(lying);
    assert.equal(want.firstNonFinite, "head.align.weight");
    assertSameFacts(scanInChunks(lying, 7), want, "int8 overflow");
  });

  it("model - topk with unsorted and repeated indices scans to the dense tensor decodeDelta builds (a later index wins)", () => {
    const raw = new Map<string, RawTensor>();
    const meta: Record<string, string> = { [DELTA_META.encoding]: "topk" };
    const shapes: Record<string, number[]> = {};
    for (const [name, shape] of SHAPES) {
      const idx = Int32Array.from([5, 1, 5, 0]);
      const val = Float32Array.from([1.5, -2, NaN, 0.25]);
      // Index 5 comes twice: its later value (NaN; 3 in the bias) is the one the dense tensor keeps.
      if (name === "stem.conv.bias") val[2] = 3;
      raw.set(`${name}.__idx`, { dtype: "I32", shape: [4], bytes: new Uint8Array(idx.buffer) });
      raw.set(`${name}.__val`, { dtype: "F32", shape: [4], bytes: new Uint8Array(val.buffer) });
      shapes[name] = shape;
    }
    meta[DELTA_META.shapes] = JSON.stringify(shapes);
    const buf = encodeRawSafetensors(raw, meta);
    const want = decodedFacts(buf);
    assert.equal(want.firstNonFinite, "stem.conv.weight");
    assertSameFacts(scanInChunks(buf, 9), want, "topk repeats");
  });

  it("model - tensors laid out out of order or overlapping give decodeDelta's facts, the norm to float64 rounding", () => {
    const buf = encodeDelta(delta(11), "fp32", {});
    const b = Buffer.from(buf);
    const hlen = Number(b.readBigUInt64LE(0));
    const header = JSON.parse(b.subarray(8, 8 + hlen).toString("utf8")) as Record<string, { data_offsets: [number, number] }>;
    // The last tensor re-declared over the first one's bytes (same length: 8 floats of the bias over the weight).
    const bias = header["stem.conv.bias"];
    header["stem.conv.bias"] = { ...bias, data_offsets: [0, bias.data_offsets[1] - bias.data_offsets[0]] };
    let json = JSON.stringify(header);
    json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
    const hbytes = Buffer.from(json);
    const out = Buffer.alloc(8 + hbytes.length + (b.length - 8 - hlen));
    out.writeBigUInt64LE(BigInt(hbytes.length));
    hbytes.copy(out, 8);
    b.copy(out, 8 + hbytes.length, 8 + hlen);
    const want = decodedFacts(out);
    const got = scanInChunks(out, 13);
    assert.deepEqual(got.tensors, want.tensors);
    assert.equal(got.firstNonFinite, null);
    assert.ok(Math.abs(got.norm - want.norm) <= 1e-12 * want.norm, `${got.norm} vs ${want.norm}`);
  });

  it("model - faults are decodeDelta's: a wrong shape, a truncated stream, a lying header length", () => {
    const buf = encodeDelta(delta(5), "fp16", {});
    const wrongExpect = EXPECT.map((e, i) => (i === 3 ? { ...e, shape: [3, 7] } : e));
    assert.throws(() => scanDelta(buf, { expect: wrongExpect }), (err: Error) => err instanceof CheckpointError && err.message === (() => {
      try {
        decodeDelta(buf, { expect: wrongExpect });
      } catch (e) {
        return (e as Error).message;
      }
      return "";
    })());
    const short = new DeltaScanner(buf.length, { expect: EXPECT });
    short.push(buf.subarray(0, buf.length - 2));
    assert.throws(() => short.finish(), (err: Error) => err instanceof CheckpointError && /truncated/.test(err.message));
    const lying = Buffer.from(buf);
    lying.writeBigUInt64LE(BigInt(buf.length));
    assert.throws(() => scanInChunks(lying, 3), (err: Error) => err instanceof CheckpointError && /header length/.test(err.message));
    // Bytes past the declared size are not scanned, and the excess is a fault.
    const long = new DeltaScanner(buf.length, { expect: EXPECT });
    long.push(Buffer.concat([buf, Buffer.alloc(16, 0xff)]));
    assert.throws(() => long.finish(), (err: Error) => err instanceof CheckpointError && /more than the \d+ it declared/.test(err.message));
  });
});
