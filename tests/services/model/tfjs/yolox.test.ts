import { strict as assert } from "node:assert";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import onnxProto from "onnx-proto";
import sharp from "sharp";
import {
  createOnnxDetector,
  depthwiseConv2d,
  detectorFromWeights,
  embedSamples,
  encodeCaption,
  exportOnnx,
  importOnnx,
  initBackend,
  runGraph,
  runTfjs,
  type ConvPad,
  createModel,
  trainOptionsFor,
} from "../../../../services/model/index.js";
import { Trainer, packBatch } from "../../../../services/model/training/train.js";
import { haveShared, KVASIR_DIR, YOLOX_NANO_ONNX } from "../../../helpers/shared.js";
import { lcgValues, relToMax } from "../helpers.js";
import { assertClose, closeness, type Tolerance } from "../../../helpers/close.js";

const IMPORT_TOLERANCE: Tolerance = { atol: 5e-5, rtol: 1e-4 };
const EXPORT_TOLERANCE: Tolerance = { atol: 2e-4, rtol: 5e-4 };

/** Whether two arrays of the same length differ in any element. */
function differ(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  assert.equal(a.length, b.length, "lengths differ");
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return true;
  return false;
}

describe("depthwise conv gradient", () => {
  before(async () => {
    await initBackend("wasm");
  });

  it("depthwise conv - dW and dX on wasm match the cpu backend's built-in gradients (rel err <= 1e-4)", async () => {
    const cases: { h: number; w: number; k: number; c: number; stride: number; pad: ConvPad }[] = [];
    for (const stride of [1, 2]) for (const [h, w, k, c] of [[9, 10, 3, 4], [12, 11, 5, 3], [8, 8, 1, 6]]) for (const pad of ["same", "valid", [1, 1, 1, 1]] as ConvPad[]) {
      if (Array.isArray(pad) && k === 1) continue;
      cases.push({ h, w, k, c, stride, pad });
    }
    for (const [i, cs] of cases.entries()) {
      const x = lcgValues(2 * cs.h * cs.w * cs.c, 10 + i);
      const wt = lcgValues(cs.k * cs.k * cs.c, 50 + i);
      const grads = (custom: boolean) =>
        tf.tidy(() => {
          const tfPad = Array.isArray(cs.pad) ? ([[0, 0], [cs.pad[0], cs.pad[1]], [cs.pad[2], cs.pad[3]], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]]) : cs.pad;
          const f = (a: tf.Tensor, b: tf.Tensor) => {
            const y = custom ? depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, cs.stride, cs.pad) : tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, cs.stride, tfPad);
            return tf.sum(tf.mul(y, tf.sin(y)));
          };
          const [gx, gw] = tf.grads(f)([tf.tensor4d(x, [2, cs.h, cs.w, cs.c]), tf.tensor4d(wt, [cs.k, cs.k, cs.c, 1])]);
          return [gx.dataSync() as Float32Array, gw.dataSync() as Float32Array];
        });
      await tf.setBackend("wasm");
      const [gx, gw] = grads(true);
      await tf.setBackend("cpu");
      const [rx, rw] = grads(false);
      await tf.setBackend("wasm");
      assert.ok(relToMax(gx, rx) <= 1e-4, `dX ${JSON.stringify(cs)}: ${relToMax(gx, rx)}`);
      assert.ok(relToMax(gw, rw) <= 1e-4, `dW ${JSON.stringify(cs)}: ${relToMax(gw, rw)}`);
    }
  });
});

describe("onnx import", () => {
  it("onnx import - refuses a graph with an unsupported op, naming it", () => {
    const { onnx } = onnxProto;
    const model = onnx.ModelProto.encode(
      onnx.ModelProto.create({
        irVersion: 8,
        opsetImport: [{ domain: "", version: 17 }],
        graph: {
          name: "g",
          node: [{ opType: "Softmax", input: ["images"], output: ["y"], name: "Softmax_0" }, { opType: "LSTM", input: ["y"], output: ["z"], name: "LSTM_1" }],
          input: [{ name: "images", type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 3 }, { dimValue: 8 }, { dimValue: 8 }] } } } }],
          output: [{ name: "z" }],
        },
      }),
    ).finish();
    assert.throws(() => importOnnx(model, "image", "bad.onnx"), (err: Error) => /Softmax, LSTM/.test(err.message) && /bad\.onnx/.test(err.message));
  });

  it("onnx import - refuses bytes that are not an ONNX model, naming the source", () => {
    assert.throws(() => importOnnx(new Uint8Array([1, 2, 3, 4, 5, 6, 255, 255]), "image", "weights.bin"), /weights\.bin/);
  });
});

describe("yolox-nano, imported from the published weights", () => {
  if (!haveShared("yolox import", [YOLOX_NANO_ONNX(), KVASIR_DIR()])) return;
  let bytes: Buffer;
  const images: Float32Array[] = []; // NHWC BGR 0..255 at 416, as YOLOX's demo feeds it
  const S = 416;
  before(async () => {
    await initBackend("wasm");
    bytes = readFileSync(YOLOX_NANO_ONNX());
    const dir = join(KVASIR_DIR(), "images");
    for (const f of readdirSync(dir).sort().slice(0, 2)) {
      const px = await sharp(join(dir, f)).resize(S, S, { fit: "fill" }).removeAlpha().raw().toBuffer();
      const nhwc = new Float32Array(S * S * 3);
      for (let i = 0; i < S * S; i++) for (let c = 0; c < 3; c++) nhwc[i * 3 + c] = px[i * 3 + (2 - c)];
      images.push(nhwc);
    }
  });

  // Boxes are in pixels (up to 416), class and objectness scores in (0, 1): both terms matter.
  it("onnx import - the imported graph reproduces onnxruntime on the original file, real images (within 5e-5 + 1e-4·|x|)", async (t) => {
    const imp = importOnnx(bytes, "image");
    const session = await ort.InferenceSession.create(bytes);
    try {
      for (const nhwc of images) {
        const nchw = new Float32Array(nhwc.length);
        for (let i = 0; i < S * S; i++) for (let c = 0; c < 3; c++) nchw[c * S * S + i] = nhwc[i * 3 + c];
        const ref = (await session.run({ images: new ort.Tensor("float32", nchw, [1, 3, S, S]) })).output.data as Float32Array;
        const lookup = (n: string) => {
          const t = imp.weights.get(n)!;
          return tf.tensor(t.data, t.shape);
        };
        const got = tf.tidy(() => runGraph(imp.graph, lookup, tf.tensor4d(nhwc, [1, S, S, 3]), imp.outputs).get(imp.outputs[0])!.dataSync() as Float32Array);
        assert.equal(got.length, 3549 * 85);
        t.diagnostic(`import: ${closeness(got, ref, IMPORT_TOLERANCE).ratio.toFixed(3)} of the tolerance`);
        assertClose(got, ref, IMPORT_TOLERANCE, "YOLOX output [1, 3549, 85]");
      }
    } finally {
      await session.release();
    }
  });

  it("grounded detector - groups, levels and the dropped COCO class convs", () => {
    const { config, weights } = createModel("yolox-nano", { seed: 1, baseWeights: bytes });
    const bb = config.backbone!;
    assert.deepEqual(bb.levels.map((l) => l.stride), [8, 16, 32]);
    assert.ok(![...weights.keys()].some((k) => k.includes("cls_preds")), "the 80-class convs are gone");
    const groups = new Set(Object.values(bb.params).map((p) => p.group));
    for (const g of ["stem", "stage1", "stage2", "stage3", "stage4", "fpn", "head"]) assert.ok(groups.has(g as never), `group ${g}`);
    assert.ok(weights.has("head.align.weight") && weights.has("text.token_embed"));
  });

  // Looser than the import test: the alignment logits sit after ~110 convs and a 64-d dot product,
  // and float32 summation order differs between the engines (measured 1.1e-4 on logits).
  it("grounded detector - ONNX export reproduces tfjs raw outputs (logits, boxes, objectness; within 2e-4 + 5e-4·|x|)", async (t) => {
    const { config, weights } = createModel("yolox-nano", { seed: 3, baseWeights: bytes });
    const det = detectorFromWeights(config, weights);
    const cap = encodeCaption([{ id: 1, name: "polyp", prompt: { prefix: "", name: "pink yellow red color oval bump", suffix: " in rectum" } }], config);
    const n = config.inputSize;
    const px = await sharp(join(KVASIR_DIR(), "images", readdirSync(join(KVASIR_DIR(), "images")).sort()[0])).resize(n, n).removeAlpha().raw().toBuffer();
    const rgb = Float32Array.from(px, (v) => v / 255);
    const od = await createOnnxDetector(exportOnnx(config, weights), config, { threads: 2 });
    try {
      const [a] = runTfjs(det, rgb, 1, cap);
      const [b] = await od.runRaw(rgb, 1, cap);
      for (const k of ["logits", "boxes", "centerness"] as const) {
        t.diagnostic(`${k}: ${closeness(b[k], a[k], EXPORT_TOLERANCE).ratio.toFixed(3)} of the tolerance`);
        assertClose(b[k], a[k], EXPORT_TOLERANCE, k);
      }
    } finally {
      await od.close();
      det.dispose();
    }
  });

  it("grounded detector - replay samplers' embeddings are the pooled deepest backbone features", async () => {
    const { config, weights } = createModel("yolox-nano", { seed: 1, baseWeights: bytes, inputSize: 64 });
    const det = detectorFromWeights(config, weights);
    const n = config.inputSize;
    const samples = [0, 1].map((i) => ({ imageId: i, pixels: lcgValues(n * n * 3, 20 + i).map((v) => (v + 1) / 2), boxes: new Float32Array(0), labels: new Int32Array(0) }));
    const emb = await embedSamples(det, samples as never);
    det.dispose();
    assert.equal(emb.length, 2);
    assert.equal(emb[0].length, config.backbone!.embedChannels);
    assert.equal(config.backbone!.embedChannels, 256);
    assert.ok(differ(emb[0], emb[1]), "different images embed differently");
  });

  it("grounded detector - a training step leaves frozen stages untouched and moves the rest", () => {
    const { config, weights } = createModel("yolox-nano", { seed: 1, baseWeights: bytes, inputSize: 128 });
    const det = detectorFromWeights(config, weights);
    const n = config.inputSize;
    const cap = encodeCaption([{ id: 1, name: "polyp", prompt: { prefix: "", name: "polyp", suffix: "" } }], config);
    const sample = { imageId: 1, pixels: lcgValues(n * n * 3, 7).map((v) => (v + 1) / 2), boxes: Float32Array.from([20, 30, 90, 100]), labels: Int32Array.from([1]) };
    const trainer = new Trainer(det, { ...trainOptionsFor("yolox-nano"), freezeStages: 2 });
    const loss = trainer.step(packBatch(config, [sample as never, sample as never], [cap, cap]), 10);
    trainer.dispose();
    assert.ok(Number.isFinite(loss) && loss > 0, `loss ${loss}`);
    const after = det.getWeights();
    const groups = config.backbone!.params;
    let movedTrainable = 0;
    for (const [name, { group }] of Object.entries(groups)) {
      const changed = differ(after.get(name)!.data, weights.get(name)!.data);
      if (group === "stem" || group === "stage1") assert.ok(!changed, `${name} (${group}) is frozen but changed`);
      else if (changed) movedTrainable++;
    }
    assert.ok(movedTrainable > 10, `only ${movedTrainable} trainable tensors moved`);
    det.dispose();
  });
});
