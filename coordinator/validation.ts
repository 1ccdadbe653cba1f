import { firstNonFinite, l2Norm, type TensorMap } from "../services/tensors/index.js";
import { UpdateRejectedError } from "./errors.js";

/** A tensor as the wire manifest and checkpoint headers describe it. */
export interface TensorSpecLite {
  name: string;
  dtype: string;
  shape: number[];
}

export const ALLOWED_DELTA_DTYPES = ["F32", "F16", "I8"];

function specEq(a: TensorSpecLite, b: TensorSpecLite): boolean {
  return a.name === b.name && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

/**
 * The header's manifest must list exactly the base model's tensors with the same shapes, in the
 * same order; dtypes must be ones the decoder understands. Throws naming the first difference.
 */
export function checkManifest(base: TensorSpecLite[], claimed: TensorSpecLite[]): void {
  if (claimed.length !== base.length) {
    throw new UpdateRejectedError(`update manifest lists ${claimed.length} tensors but the base model has ${base.length}`, {
      details: { field: "manifest.tensors" },
    });
  }
  for (let i = 0; i < base.length; i++) {
    if (!specEq(base[i], claimed[i])) {
      throw new UpdateRejectedError(
        `update manifest tensor #${i} is "${claimed[i].name}" [${claimed[i].shape}] but the base model has "${base[i].name}" [${base[i].shape}]`,
        { details: { field: `manifest.tensors[${i}]`, tensor: claimed[i].name } },
      );
    }
    if (!ALLOWED_DELTA_DTYPES.includes(claimed[i].dtype)) {
      throw new UpdateRejectedError(`update manifest tensor "${claimed[i].name}" has dtype ${claimed[i].dtype}; allowed: ${ALLOWED_DELTA_DTYPES.join(", ")}`, {
        details: { field: `manifest.tensors[${i}].dtype`, tensor: claimed[i].name },
      });
    }
  }
}

/** What the coordinator checks of a decoded delta (services/model DeltaSummary, or summarized from tensors). */
export interface DeltaFacts {
  tensors: { name: string; shape: number[] }[];
  firstNonFinite: string | null;
  norm: number;
}

/** The facts of a delta held as tensors (l2Norm and firstNonFinite over them). */
export function deltaFacts(delta: TensorMap): DeltaFacts {
  const firstBad = firstNonFinite(delta);
  return { tensors: [...delta].map(([name, t]) => ({ name, shape: t.shape })), firstNonFinite: firstBad, norm: firstBad === null ? l2Norm(delta) : NaN };
}

/**
 * What was actually decoded must match the base layout (a lying header is caught here), hold only
 * finite values, and stay within the L2 bound (a blown-up or malicious update never reaches FedAvg).
 * Returns the update's norm.
 */
export function checkDeltaFacts(base: TensorSpecLite[], delta: DeltaFacts, normBound: number): number {
  const byName = new Map(delta.tensors.map((t) => [t.name, t.shape]));
  for (let i = 0; i < base.length; i++) {
    const shape = byName.get(base[i].name);
    if (!shape) throw new UpdateRejectedError(`delta lacks tensor "${base[i].name}"`, { details: { tensor: base[i].name } });
    if (shape.length !== base[i].shape.length || shape.some((d, k) => d !== base[i].shape[k])) {
      throw new UpdateRejectedError(`delta tensor "${base[i].name}" has shape [${shape}] but the base model has [${base[i].shape}]`, {
        details: { tensor: base[i].name },
      });
    }
  }
  if (byName.size !== base.length) {
    const extra = [...byName.keys()].find((n) => !base.some((b) => b.name === n));
    throw new UpdateRejectedError(`delta has unexpected tensor "${extra}"`, { details: { tensor: extra } });
  }
  const bad = delta.firstNonFinite;
  if (bad !== null) throw new UpdateRejectedError(`delta tensor "${bad}" holds NaN or infinite values`, { details: { tensor: bad } });
  const norm = delta.norm;
  if (norm > normBound) {
    throw new UpdateRejectedError(`delta L2 norm ${norm.toFixed(4)} exceeds the bound ${normBound} (coordinator.updateNormBound)`, {
      details: { norm, bound: normBound },
    });
  }
  return norm;
}

/** checkDeltaFacts over a delta held as tensors. */
export function checkDelta(base: TensorSpecLite[], delta: TensorMap, normBound: number): number {
  return checkDeltaFacts(base, deltaFacts(delta), normBound);
}
