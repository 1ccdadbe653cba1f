import type { DomainEvaluation } from "../services/evaluation/index.js";
import type { TensorMap } from "../services/tensors/index.js";
import type { DeltaFacts, TensorSpecLite } from "./validation.js";

export type { DomainEvaluation };

export interface EvalSet {
  domain: string;
  dir: string;
}

/**
 * The model operations the coordinator needs, behind one seam so the gRPC and scheduling code can
 * be exercised without a training backend. The production implementation is in model-ops-detector.ts.
 */
export interface ModelOps {
  /**
   * A fresh base checkpoint (safetensors bytes) for a model and seed: a from-scratch size, or a
   * pretrained base imported from its published weights. `inputSize` overrides the model's default.
   */
  createBase(model: string, seed: number, opts?: { inputSize?: number }): Promise<Buffer>;
  /** Tensor layout and architecture hash of a checkpoint. */
  inspect(checkpoint: Buffer): { manifest: TensorSpecLite[]; configHash: string };
  /** Tensor layout of a checkpoint file, read from its header alone (the data is not loaded). */
  layoutOf(path: string): TensorSpecLite[];
  /**
   * A validator for an uploaded delta of `size` bytes, fed its bytes in order as they arrive: the
   * same checks as decodeDelta with `expect`, plus finiteness and the L2 norm, without holding the
   * delta. push() never throws; finish() throws the first fault (or returns the facts).
   */
  deltaScanner(size: number, expect: TensorSpecLite[]): { push(chunk: Uint8Array): void; finish(): DeltaFacts };
  /**
   * Decodes an uploaded delta to float32, whatever its encoding. With `expect` (the base model's
   * layout), declared names and shapes are checked against it before anything is allocated.
   */
  decodeDelta(bytes: Buffer, expect?: TensorSpecLite[]): TensorMap;
  /** base + delta, as a new checkpoint whose metadata names its parent. */
  applyDelta(base: Buffer, delta: TensorMap, meta: { parent: string; createdBy: string; step: number }): Buffer;
  /** COCO evaluation of a checkpoint on each set (ONNX path). */
  evaluate(checkpoint: Buffer, sets: EvalSet[]): Promise<DomainEvaluation[]>;
}
