import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { addScaledTensors, subtractTensors, type TensorMap } from "../../../../services/tensors/index.js";
import { tempDir } from "../../../helpers/temp.js";
import {
  ArchitectureMismatchError,
  CheckpointError,
  DELTA_ENCODINGS,
  configHash,
  createDetector,
  decodeDelta,
  decodeSafetensors,
  detectorFromWeights,
  encodeDelta,
  encodeSafetensors,
  initBackend,
  initWeights,
  loadCheckpoint,
  modelConfig,
  saveCheckpoint,
} from "../../../../services/model/index.js";

function randomDelta(seed: number): TensorMap {
  let s = seed;
  const r = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
  return new Map([
    ["a.weight", { dtype: "float32", shape: [3, 4], data: Float32Array.from({ length: 12 }, () => r() * 0.01) }],
    ["b.bias", { dtype: "float32", shape: [5], data: Float32Array.from({ length: 5 }, () => r()) }],
    ["c.const", { dtype: "float32", shape: [2], data: Float32Array.from([0.5, 0.5]) }],
  ]);
}

function maxAbsDiff(a: TensorMap, b: TensorMap): number {
  let m = 0;
  for (const [k, t] of a) t.data.forEach((v, i) => (m = Math.max(m, Math.abs(v - b.get(k)!.data[i]))));
  return m;
}

describe("checkpoint", () => {
  before(async () => {
    await initBackend("wasm");
  });

  it("checkpoint - safetensors round-trips tensors, order and string metadata; header length is 8-byte LE and aligned", () => {
    const t = randomDelta(1);
    const buf = encodeSafetensors(t, { hello: "world" });
    const hlen = Number(buf.readBigUInt64LE(0));
    assert.equal((8 + hlen) % 8, 0);
    const header = JSON.parse(buf.subarray(8, 8 + hlen).toString());
    assert.deepEqual(header["a.weight"], { dtype: "F32", shape: [3, 4], data_offsets: [0, 48] });
    const back = decodeSafetensors(buf);
    assert.deepEqual([...back.tensors.keys()], [...t.keys()]);
    assert.equal(maxAbsDiff(t, back.tensors), 0);
    assert.deepEqual(back.metadata, { hello: "world" });
  });

  it("checkpoint - save/load keeps config, hash, parent, producer and weights; a truncated file is DATA_LOSS", async () => {
    const cfg = modelConfig("nano", { inputSize: 64 });
    const det = createDetector(cfg, 3);
    const dir = tempDir("medfcl-ckpt-");
    const path = join(dir, "m.safetensors");
    const sha = await saveCheckpoint(path, det, { parent: "abc", createdBy: "test" });
    assert.match(sha, /^[0-9a-f]{64}$/);
    const ck = await loadCheckpoint(path);
    assert.deepEqual(ck.config, cfg);
    assert.equal(ck.metadata["medfcl.config_hash"], configHash(cfg));
    assert.equal(ck.metadata["medfcl.parent"], "abc");
    assert.equal(ck.metadata["medfcl.created_by"], "test");
    assert.equal(maxAbsDiff(det.getWeights(), ck.tensors), 0);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 10));
    await assert.rejects(loadCheckpoint(path), (e: unknown) => e instanceof CheckpointError && e.code === "DATA_LOSS");
    det.dispose();
  });

  it("checkpoint - loading weights of another architecture fails naming the first mismatched tensor", () => {
    const nano = initWeights(modelConfig("nano"), 1);
    const wider = modelConfig("nano", { stemChannels: 8 });
    assert.throws(
      () => detectorFromWeights(wider, nano),
      (e: unknown) => e instanceof ArchitectureMismatchError && e.message.includes("image.stem.weight") && e.details.tensor === "image.stem.weight",
    );
  });

  it("checkpoint - seeded init is deterministic and differs across seeds", () => {
    const cfg = modelConfig("nano");
    assert.equal(maxAbsDiff(initWeights(cfg, 4), initWeights(cfg, 4)), 0);
    assert.ok(maxAbsDiff(initWeights(cfg, 4), initWeights(cfg, 5)) > 0);
  });

  it("checkpoint - delta = local − base round-trips through every encoding within its error bound, and apply(base, delta) restores local", () => {
    const base = randomDelta(7);
    const local = addScaledTensors(base, randomDelta(8), 0.1);
    const delta = subtractTensors(local, base);
    const range = (t: TensorMap) => Math.max(...[...t.values()].map((x) => Math.max(...x.data) - Math.min(...x.data)));
    for (const enc of DELTA_ENCODINGS) {
      const buf = encodeDelta(delta, enc, { round: "3", topk_fraction: "1" });
      const { delta: back, metadata } = decodeDelta(buf);
      assert.equal(metadata.round, "3");
      assert.equal(metadata["medfcl.delta.encoding"], enc);
      assert.deepEqual([...back.keys()], [...delta.keys()]);
      const err = maxAbsDiff(delta, back);
      const bound = enc === "fp32" || enc === "topk" ? 0 : enc === "fp16" ? 1e-3 * range(delta) : range(delta) / 255;
      assert.ok(err <= bound + 1e-9, `${enc}: ${err} > ${bound}`);
      const restored = addScaledTensors(base, back);
      assert.ok(maxAbsDiff(restored, local) <= bound + 1e-6, enc);
    }
    const sparse = decodeDelta(encodeDelta(delta, "topk", { topk_fraction: "0.25" })).delta;
    const w = sparse.get("a.weight")!.data;
    assert.equal(w.filter((v) => v !== 0).length, 3);
    const kept = [...w].filter((v) => v !== 0).map(Math.abs);
    const dropped = [...delta.get("a.weight")!.data].filter((_, i) => w[i] === 0).map(Math.abs);
    assert.ok(Math.min(...kept) >= Math.max(...dropped));
    assert.ok(encodeDelta(delta, "fp16", {}).length < encodeDelta(delta, "fp32", {}).length);
  });
});
