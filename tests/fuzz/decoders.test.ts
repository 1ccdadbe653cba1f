// Property-based fuzzing of every decoder of site-supplied bytes. Each property states that the
// decoder either returns a value that respects its bounds or throws a MedfclError naming the
// problem: no TypeError, no RangeError, no allocation beyond the stated caps. Run counts are fixed
// (and printed) so CI always runs the same number of inputs; the seed is fixed for reproducibility.
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import fc from "fast-check";
import sharp from "sharp";
import { isMedfclError } from "../../services/errors/index.js";
import { decodeRawSafetensors, encodeRawSafetensors, type RawTensor } from "../../services/model/io/safetensors.js";
import { DELTA_META, DeltaScanner, decodeDelta, encodeDelta } from "../../services/model/index.js";
import { deltaFacts } from "../../coordinator/validation.js";
import { parseCocoJson } from "../../services/data/coco.js";
import { sanitizeImage } from "../../services/privacy/index.js";

const SEED = 20261202;
/** Resident-set growth allowed over the whole file (MiB); a decoder that allocated what inputs declare would blow far past it. */
const RSS_BOUND_MB = 256;
export const RUNS = { safetensorsBytes: 3000, safetensorsHeader: 3000, delta: 3000, coco: 2000, image: 300 } as const;

function expectMedfclOrValue<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (err) {
    if (!isMedfclError(err)) throw err;
    return undefined;
  }
}

const dim = fc.oneof(fc.integer({ min: 0, max: 8 }), fc.constantFrom(-1, 1.5, 2 ** 31, 2 ** 53, 250_000_000, Number.MAX_SAFE_INTEGER), fc.constant("3" as unknown as number));
const shapeArb = fc.array(dim, { maxLength: 4 });

const DELTA_EXPECT = [
  { name: "w", shape: [4, 3] },
  { name: "b", shape: [3] },
];

/** Delta files of every encoding whose metadata, names, dtypes and sizes may all lie. */
const lyingDeltaArb: fc.Arbitrary<Buffer> = (() => {
  const metaArb = fc.record({
    enc: fc.constantFrom("fp32", "fp16", "int8", "topk", "bogus"),
    shapes: fc.oneof(fc.dictionary(fc.constantFrom("w", "b", "x", "__proto__"), shapeArb, { maxKeys: 3 }), fc.anything()),
    int8: fc.oneof(fc.dictionary(fc.constantFrom("w", "b"), fc.oneof(fc.tuple(fc.double(), fc.double()), fc.anything())), fc.anything()),
  });
  const tensorArb = fc.record({
    name: fc.constantFrom("w", "b", "w.__idx", "w.__val", "b.__idx", "b.__val", "x"),
    dtype: fc.constantFrom("F32", "F16", "I8", "I32", "U8") as fc.Arbitrary<RawTensor["dtype"]>,
    n: fc.integer({ min: 0, max: 16 }),
    fill: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  });
  const ELEM = { F32: 4, F16: 2, I8: 1, U8: 1, I32: 4 } as const;
  return fc.tuple(metaArb, fc.array(tensorArb, { maxLength: 5 })).map(([meta, parts]) => {
    const raw = new Map<string, RawTensor>();
    for (const p of parts) {
      const bytes = new Uint8Array(p.n * ELEM[p.dtype]);
      // One planted value (an index far out of range, a NaN pattern...) where there is room.
      if (bytes.length >= 4) new DataView(bytes.buffer).setInt32(0, p.fill, true);
      raw.set(p.name, { dtype: p.dtype, shape: [p.n], bytes });
    }
    return encodeRawSafetensors(raw, {
      [DELTA_META.encoding]: meta.enc,
      [DELTA_META.shapes]: JSON.stringify(meta.shapes) ?? "",
      [DELTA_META.int8]: JSON.stringify(meta.int8) ?? "",
    });
  });
})();
const dtypeArb = fc.constantFrom("F32", "F16", "I8", "U8", "I32", "F64", "BOOL", "", "__proto__");

/** A header that is JSON but lies in every way a site could make it lie. */
const headerArb = fc.dictionary(
  fc.oneof(fc.constantFrom("a", "b", "w.__idx", "w.__val", "__metadata__", "__proto__", "constructor"), fc.string({ maxLength: 6 })),
  fc.oneof(
    fc.record({ dtype: dtypeArb, shape: shapeArb, data_offsets: fc.tuple(dim, dim) }),
    fc.record({ dtype: dtypeArb, shape: fc.anything(), data_offsets: fc.anything() }),
    fc.anything(),
  ),
  { maxKeys: 5 },
);

function withHeader(header: unknown, data: Uint8Array, declaredLen?: bigint): Buffer {
  const json = Buffer.from(JSON.stringify(header) ?? "null");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(declaredLen ?? BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

const startRss = process.memoryUsage().rss;
let peakRss = startRss;
const sampleRss = (): void => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};

describe("fuzz - decoders of site-supplied bytes", () => {
  it(`fuzz - safetensors decoding of ${RUNS.safetensorsBytes} random buffers throws only MedfclErrors`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.option(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })), (bytes, len) => {
        const buf = len === null ? Buffer.from(bytes) : withHeader(null, bytes, len);
        expectMedfclOrValue(() => decodeRawSafetensors(buf));
        sampleRss();
      }),
      { numRuns: RUNS.safetensorsBytes, seed: SEED },
    );
  });

  it(`fuzz - safetensors headers (${RUNS.safetensorsHeader} lying JSON headers) never allocate past the file`, () => {
    fc.assert(
      fc.property(headerArb, fc.uint8Array({ maxLength: 256 }), (header, data) => {
        const buf = withHeader(header, data);
        const out = expectMedfclOrValue(() => decodeRawSafetensors(buf));
        if (out) {
          let held = 0;
          for (const t of out.tensors.values()) held += t.bytes.byteLength;
          assert.ok(held <= data.length, `decoded ${held} bytes from a ${data.length}-byte data section`);
        }
        sampleRss();
      }),
      { numRuns: RUNS.safetensorsHeader, seed: SEED },
    );
  });

  it(`fuzz - delta decoding (${RUNS.delta} fp32/fp16/int8/topk files with lying metadata) respects the base layout and the element cap`, () => {
    fc.assert(
      fc.property(lyingDeltaArb, fc.boolean(), (buf, withExpect) => {
        const out = expectMedfclOrValue(() => decodeDelta(buf, withExpect ? { expect: DELTA_EXPECT } : { maxElements: 4096 }));
        if (out) {
          let elements = 0;
          for (const [name, t] of out.delta) {
            elements += t.data.length;
            if (withExpect) assert.deepEqual(t.shape, DELTA_EXPECT.find((e) => e.name === name)?.shape, `tensor ${name} decoded with a shape the base does not have`);
          }
          assert.ok(elements <= (withExpect ? 15 : 4096), `decoded ${elements} elements`);
        }
        sampleRss();
      }),
      { numRuns: RUNS.delta, seed: SEED },
    );
  });

  it(`fuzz - the streaming delta scanner (coordinator uploads) accepts exactly what decodeDelta does, with its facts, on ${RUNS.delta} lying files in any chunking`, () => {
    fc.assert(
      fc.property(lyingDeltaArb, fc.boolean(), fc.integer({ min: 1, max: 64 }), (buf, withExpect, chunk) => {
        const opts = withExpect ? { expect: DELTA_EXPECT } : { maxElements: 4096 };
        const decoded = expectMedfclOrValue(() => decodeDelta(buf, opts));
        const scanned = expectMedfclOrValue(() => {
          const scanner = new DeltaScanner(buf.length, opts);
          for (let off = 0; off < buf.length; off += chunk) scanner.push(buf.subarray(off, off + chunk));
          return scanner.finish();
        });
        assert.equal(scanned === undefined, decoded === undefined, `scanner ${scanned ? "accepted" : "refused"} what decodeDelta ${decoded ? "accepted" : "refused"}`);
        if (!decoded || !scanned) return;
        const want = deltaFacts(decoded.delta);
        assert.deepEqual(scanned.tensors, want.tensors);
        assert.equal(scanned.firstNonFinite, want.firstNonFinite);
        if (want.firstNonFinite === null) assert.ok(Math.abs(scanned.norm - want.norm) <= 1e-12 * want.norm, `norm ${scanned.norm} vs ${want.norm}`);
      }),
      { numRuns: RUNS.delta, seed: SEED },
    );
  });

  it("fuzz - deltas the encoder writes still decode to their tensors under the base layout", () => {
    const t = new Map([
      ["w", { dtype: "float32" as const, shape: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => (i - 6) / 10) }],
      ["b", { dtype: "float32" as const, shape: [3], data: new Float32Array([0.5, -0.25, 0]) }],
    ]);
    const expect = [...t].map(([name, x]) => ({ name, shape: x.shape }));
    for (const enc of ["fp32", "fp16", "int8", "topk"] as const) {
      const { delta } = decodeDelta(encodeDelta(t, enc, { [DELTA_META.topkFraction]: "1" }), { expect });
      assert.deepEqual([...delta.keys()], ["w", "b"], enc);
      for (const [name, x] of t) delta.get(name)!.data.forEach((v, i) => assert.ok(Math.abs(v - x.data[i]) < 0.01, `${enc} ${name}[${i}]`));
    }
  });

  it(`fuzz - COCO JSON parsing of ${RUNS.coco} malformed datasets reports problems and never throws`, () => {
    const num = fc.oneof(fc.integer({ min: -3, max: 5 }), fc.double(), fc.constantFrom(Number.MAX_SAFE_INTEGER, 1e308, -0), fc.string({ maxLength: 3 }));
    const cocoArb = fc.record(
      {
        images: fc.oneof(fc.array(fc.record({ id: num, file_name: fc.oneof(fc.string({ maxLength: 8 }), num), width: num, height: num }, { requiredKeys: [] }), { maxLength: 4 }), fc.anything()),
        annotations: fc.oneof(
          fc.array(fc.record({ id: num, image_id: num, category_id: num, bbox: fc.oneof(fc.array(num, { maxLength: 5 }), fc.anything()), area: num, iscrowd: num }, { requiredKeys: [] }), { maxLength: 6 }),
          fc.anything(),
        ),
        categories: fc.oneof(fc.array(fc.record({ id: num, name: fc.oneof(fc.string({ maxLength: 6 }), num), prompt: fc.anything() }, { requiredKeys: [] }), { maxLength: 4 }), fc.anything()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(cocoArb, fc.anything()), (raw) => {
        const out = parseCocoJson(raw, "annotations.json");
        assert.ok(Array.isArray(out.problems));
        sampleRss();
      }),
      { numRuns: RUNS.coco, seed: SEED },
    );
  });

  it(`fuzz - image sanitizing of ${RUNS.image} mutated PNG/JPEG files refuses with a reason or returns a clean image`, async () => {
    const png = await sharp({ create: { width: 24, height: 16, channels: 3, background: "#4080c0" } }).png().toBuffer();
    const jpeg = await sharp(png).jpeg().toBuffer();
    const mutated = fc.record({
      base: fc.constantFrom(png, jpeg),
      flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      cut: fc.option(fc.nat()),
    });
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutated, fc.uint8Array({ maxLength: 512 })), async (input) => {
        let bytes: Buffer;
        if (input instanceof Uint8Array) bytes = Buffer.concat([Buffer.from(input[0] % 2 ? [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] : [0xff, 0xd8, 0xff]), input]);
        else {
          bytes = Buffer.from(input.base);
          for (const [pos, v] of input.flips) bytes[pos % bytes.length] = v;
          if (input.cut !== null) bytes = bytes.subarray(0, input.cut % bytes.length);
        }
        try {
          const out = await sanitizeImage(bytes);
          assert.ok(out.width > 0 && out.height > 0 && out.width * out.height <= 4096 * 4096);
        } catch (err) {
          if (!isMedfclError(err)) throw err;
        }
        sampleRss();
      }),
      { numRuns: RUNS.image, seed: SEED },
    );
  });

  it(`fuzz - resident memory stays within ${RSS_BOUND_MB} MiB of the start over all decoder runs`, () => {
    sampleRss();
    const growth = (peakRss - startRss) / 2 ** 20;
    process.stdout.write(`# decoders fuzzed: ${JSON.stringify(RUNS)}; peak RSS growth ${growth.toFixed(0)} MiB (bound ${RSS_BOUND_MB})\n`);
    assert.ok(growth < RSS_BOUND_MB, `peak RSS grew by ${growth.toFixed(0)} MiB`);
  });
});
