import * as ort from "onnxruntime-node";
import type { CocoDataset } from "../../data/index.js";
import type { CocoDetection } from "../../eval/types.js";
import type { TensorMap } from "../../tensors/index.js";
import { stridesOf } from "../core/config.js";
import { checkWeights } from "../tfjs/detector.js";
import { CheckpointError } from "../core/errors.js";
import { familyOf, paramSpecs } from "../families/index.js";
import { ONNX_IO, exportOps, finishModel } from "./builder.js";
import { predictWith, type RawImageOutputs } from "../tfjs/predict.js";
import type { EncodedCaption } from "../core/tokenizer.js";
import type { ModelConfig, PredictOptions } from "../core/types.js";

export { ONNX_IO } from "./builder.js";

/**
 * Exports the inference graph (image + prompt tokens → raw logits/boxes/centerness) to ONNX
 * opset 17. Conv weights go from tfjs [kh,kw,ci,co] to ONNX [co,ci,kh,kw]; every pad is explicit.
 * The prompt is an input (token ids + mask), so one file serves any dataset's categories.
 */
export function exportOnnx(cfg: ModelConfig, weights: TensorMap): Uint8Array {
  checkWeights(paramSpecs(cfg), weights);
  const b = exportOps(weights);
  familyOf(cfg).exportGraph(b, cfg);
  return finishModel(b.g, cfg, stridesOf(cfg).map((s) => cfg.inputSize / s));
}

export interface OnnxDetector {
  predictDataset(ds: CocoDataset, o?: PredictOptions): Promise<CocoDetection[]>;
  /** Raw outputs for a batch of NHWC images (for parity checks and benchmarks). */
  runRaw(images: Float32Array, batch: number, caption: EncodedCaption): Promise<RawImageOutputs[]>;
  close(): Promise<void>;
}

/** Runs an exported model in onnxruntime-node (CPU). `threads` sets intra-op threads. */
export async function createOnnxDetector(model: Uint8Array, cfg: ModelConfig, opts: { threads?: number } = {}): Promise<OnnxDetector> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, {
      executionProviders: ["cpu"],
      intraOpNumThreads: opts.threads ?? 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
    });
  } catch (err) {
    throw new CheckpointError(`onnxruntime cannot load the model: ${(err as Error).message}`, { cause: err });
  }
  const m = cfg.maxTokens;
  const runRaw = async (images: Float32Array, batch: number, caption: EncodedCaption): Promise<RawImageOutputs[]> => {
    const ids = new Int32Array(batch * m);
    const mask = new Float32Array(batch * m);
    for (let i = 0; i < batch; i++) {
      ids.set(caption.ids, i * m);
      mask.set(caption.mask, i * m);
    }
    const feeds = {
      [ONNX_IO.image]: new ort.Tensor("float32", images, [batch, cfg.inputSize, cfg.inputSize, 3]),
      [ONNX_IO.inputIds]: new ort.Tensor("int32", ids, [batch, m]),
      [ONNX_IO.attentionMask]: new ort.Tensor("float32", mask, [batch, m]),
    };
    const out = await session.run(feeds);
    const logits = out[ONNX_IO.logits].data as Float32Array;
    const boxes = out[ONNX_IO.boxes].data as Float32Array;
    const ctr = out[ONNX_IO.centerness].data as Float32Array;
    const n = logits.length / (batch * m);
    return Array.from({ length: batch }, (_, i) => ({
      logits: logits.slice(i * n * m, (i + 1) * n * m),
      boxes: boxes.slice(i * n * 4, (i + 1) * n * 4),
      centerness: ctr.slice(i * n, (i + 1) * n),
    }));
  };
  return {
    predictDataset: (ds, o) => predictWith(cfg, ds, runRaw, o),
    runRaw,
    close: async () => {
      await session.release();
    },
  };
}
