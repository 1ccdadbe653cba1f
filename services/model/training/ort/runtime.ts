import { availableParallelism } from "node:os";
import * as ort from "onnxruntime-node";
import { OrtTrainError } from "../../core/errors.js";
import type { DType } from "../../onnx/graph.js";

export type ExecutionProvider = "cpu" | "cuda";

export interface SessionOptions {
  /** Intra-op threads (default: the machine's core count). */
  threads?: number;
  /** "cuda" needs onnxruntime-node installed with its CUDA provider (see docs/model.md). */
  executionProvider?: ExecutionProvider;
  /** Write an onnxruntime profile (JSON) with this file prefix. */
  profilePrefix?: string;
}

export function defaultThreads(): number {
  return availableParallelism();
}

export async function createSession(model: Uint8Array, o: SessionOptions = {}): Promise<ort.InferenceSession> {
  const ep = o.executionProvider ?? "cpu";
  try {
    return await ort.InferenceSession.create(model, {
      executionProviders: [ep],
      intraOpNumThreads: o.threads ?? defaultThreads(),
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
      ...(o.profilePrefix ? { enableProfiling: true, profileFilePrefix: o.profilePrefix } : {}),
    });
  } catch (err) {
    throw new OrtTrainError(`onnxruntime cannot create the training session (execution provider ${ep}): ${(err as Error).message}`, { cause: err });
  }
}

export function ortTensor(dtype: DType, data: Float32Array | Int32Array | BigInt64Array | Uint8Array, shape: readonly number[]): ort.Tensor {
  return new ort.Tensor(dtype, data, shape);
}

export { ort };
