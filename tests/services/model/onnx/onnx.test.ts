import { after, before, describe, it } from "node:test";
import {
  createDetector,
  createOnnxDetector,
  encodeCaption,
  exportOnnx,
  initBackend,
  modelConfig,
  runTfjs,
  type ModelConfig,
  type TfDetector,
} from "../../../../services/model/index.js";
import { assertClose, closeness, type Tolerance } from "../../../helpers/close.js";

/** onnxruntime against tfjs, same weights and inputs: float32 summation order is all that differs. */
const OUTPUT_TOLERANCE: Tolerance = { atol: 2e-5, rtol: 2e-4 };

function images(cfg: ModelConfig, batch: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: batch * cfg.inputSize * cfg.inputSize * 3 }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  });
}

const cats = [
  { id: 3, name: "polyp", prompt: { prefix: "a ", name: "pink yellow oval bump", suffix: " in rectum" } },
  { id: 7, name: "cell", prompt: { prefix: "", name: "round cells", suffix: "" } },
];

describe("onnx export", () => {
  const dets: TfDetector[] = [];
  before(async () => {
    await initBackend("wasm");
  });
  after(() => dets.forEach((d) => d.dispose()));

  for (const [label, cfg] of [
    ["nano", modelConfig("nano")],
    ["nano with fusion and two head convs at 64 px", modelConfig("nano", { inputSize: 64, fusion: true, headConvs: 2, textLayers: 2 })],
  ] as [string, ModelConfig][]) {
    it(`onnx - ${label}: onnxruntime raw outputs match tfjs within 2e-5 + 2e-4·|tfjs|`, async (t) => {
      const det = createDetector(cfg, 5);
      dets.push(det);
      const onnxBytes = exportOnnx(cfg, det.getWeights());
      const ort = await createOnnxDetector(onnxBytes, cfg, { threads: 1 });
      try {
        const caption = encodeCaption(cats, cfg);
        const x = images(cfg, 2, 42);
        const a = runTfjs(det, x, 2, caption);
        const b = await ort.runRaw(x, 2, caption);
        for (let i = 0; i < 2; i++) {
          for (const k of ["logits", "boxes", "centerness"] as const) {
            t.diagnostic(`${k}: ${closeness(b[i][k], a[i][k], OUTPUT_TOLERANCE).ratio.toFixed(3)} of the tolerance`);
            assertClose(b[i][k], a[i][k], OUTPUT_TOLERANCE, `image ${i} ${k}`);
          }
        }
      } finally {
        await ort.close();
      }
    });
  }
});
