/**
 * Plain named tensors (typed arrays, no tf.Tensor) for everything that crosses a process or a disk:
 * checkpoints, deltas, aggregation, DP. Keeping this free of tfjs lets the coordinator aggregate and
 * validate without loading a training backend.
 */
import { ErrorCode, MedfclError } from "../errors/index.js";

export interface NamedTensor {
  dtype: "float32";
  shape: number[];
  data: Float32Array;
}

/** Insertion order is the canonical tensor order (it is the order written to safetensors). */
export type TensorMap = Map<string, NamedTensor>;

export class TensorMismatchError extends MedfclError {
  constructor(message: string, tensor: string) {
    super(ErrorCode.InvalidArgument, message, { details: { tensor } });
  }
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Throws naming the first tensor whose name, shape or presence differs. */
export function assertSameLayout(a: TensorMap, b: TensorMap, what = "tensors"): void {
  for (const [name, t] of a) {
    const u = b.get(name);
    if (!u) throw new TensorMismatchError(`${what}: tensor "${name}" is missing on one side`, name);
    if (t.shape.length !== u.shape.length || t.shape.some((d, i) => d !== u.shape[i])) {
      throw new TensorMismatchError(`${what}: tensor "${name}" has shape [${u.shape}] where [${t.shape}] was expected`, name);
    }
  }
  for (const name of b.keys()) if (!a.has(name)) throw new TensorMismatchError(`${what}: unexpected tensor "${name}"`, name);
}

export function mapTensors(a: TensorMap, fn: (t: NamedTensor, name: string) => Float32Array): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, t] of a) out.set(name, { dtype: "float32", shape: [...t.shape], data: fn(t, name) });
  return out;
}

/** a − b per tensor (a delta is `local − base`). */
export function subtractTensors(a: TensorMap, b: TensorMap): TensorMap {
  assertSameLayout(a, b, "subtract");
  return mapTensors(a, (t, name) => {
    const u = b.get(name)!.data;
    const out = new Float32Array(t.data.length);
    for (let i = 0; i < out.length; i++) out[i] = t.data[i] - u[i];
    return out;
  });
}

/** a + scale·b per tensor. */
export function addScaledTensors(a: TensorMap, b: TensorMap, scale = 1): TensorMap {
  assertSameLayout(a, b, "add");
  return mapTensors(a, (t, name) => {
    const u = b.get(name)!.data;
    const out = new Float32Array(t.data.length);
    for (let i = 0; i < out.length; i++) out[i] = t.data[i] + scale * u[i];
    return out;
  });
}

export function scaleTensors(a: TensorMap, scale: number): TensorMap {
  return mapTensors(a, (t) => {
    const out = new Float32Array(t.data.length);
    for (let i = 0; i < out.length; i++) out[i] = t.data[i] * scale;
    return out;
  });
}

/** Global L2 norm over all tensors, accumulated in float64. */
export function l2Norm(a: TensorMap): number {
  let s = 0;
  for (const t of a.values()) for (let i = 0; i < t.data.length; i++) s += t.data[i] * t.data[i];
  return Math.sqrt(s);
}

/** Name of the first tensor holding a NaN or ±Infinity, or null. */
export function firstNonFinite(a: TensorMap): string | null {
  for (const [name, t] of a) for (let i = 0; i < t.data.length; i++) if (!Number.isFinite(t.data[i])) return name;
  return null;
}

export function cloneTensors(a: TensorMap): TensorMap {
  return mapTensors(a, (t) => new Float32Array(t.data));
}
