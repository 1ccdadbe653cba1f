import { assertSameLayout, type TensorMap } from "../../tensors/index.js";
import { tf } from "./backend.js";
import { ArchitectureMismatchError, ModelOptionError } from "../core/errors.js";
import type { ParamLookup } from "./model.js";
import { checkModelConfig, initWeights, paramSpecs } from "../families/index.js";
import type { ParamSpec } from "../core/params.js";
import type { ModelConfig } from "../core/types.js";

export interface Detector {
  config: ModelConfig;
  getWeights(): TensorMap;
  setWeights(w: TensorMap): void;
  dispose(): void;
}

/** The tfjs implementation of Detector: one tf.Variable per named tensor. */
export class TfDetector implements Detector {
  readonly config: ModelConfig;
  readonly specs: ParamSpec[];
  readonly vars: Map<string, tf.Variable>;
  #disposed = false;

  constructor(cfg: ModelConfig, weights: TensorMap) {
    this.config = checkModelConfig(cfg);
    this.specs = paramSpecs(cfg);
    checkWeights(this.specs, weights);
    this.vars = new Map();
    for (const spec of this.specs) {
      const t = weights.get(spec.name)!;
      this.vars.set(spec.name, tf.variable(tf.tensor(t.data, spec.shape, "float32"), true));
    }
  }

  readonly lookup: ParamLookup = (name) => {
    const v = this.vars.get(name);
    if (!v) throw new ArchitectureMismatchError(`the model has no tensor "${name}"`, name);
    return v;
  };

  getWeights(): TensorMap {
    const out: TensorMap = new Map();
    for (const spec of this.specs) {
      const v = this.vars.get(spec.name)!;
      out.set(spec.name, { dtype: "float32", shape: [...spec.shape], data: Float32Array.from(v.dataSync() as Float32Array) });
    }
    return out;
  }

  setWeights(w: TensorMap): void {
    checkWeights(this.specs, w);
    for (const spec of this.specs) {
      tf.tidy(() => this.vars.get(spec.name)!.assign(tf.tensor(w.get(spec.name)!.data, spec.shape, "float32")));
    }
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

/** Throws naming the first tensor (in canonical order) that is missing, extra or of another shape. */
export function checkWeights(specs: ParamSpec[], w: TensorMap): void {
  const expected: TensorMap = new Map(specs.map((s) => [s.name, { dtype: "float32" as const, shape: s.shape, data: new Float32Array(0) }]));
  try {
    assertSameLayout(expected, w, "weights");
  } catch (err) {
    const tensor = (err as { details?: { tensor?: string } }).details?.tensor ?? "?";
    throw new ArchitectureMismatchError(
      `these weights do not fit this architecture: ${(err as Error).message}. Load them with the config stored in their checkpoint, or convert them.`,
      tensor,
      { cause: err },
    );
  }
}

/** The tfjs detector behind a `Detector` (all detectors made by this module are TfDetectors). */
export function asTfDetector(det: Detector): TfDetector {
  if (det instanceof TfDetector) return det;
  throw new ModelOptionError("detector", "this operation needs a detector made by createDetector/detectorFromWeights (services/model)");
}

export function createDetector(cfg: ModelConfig, seed: number): TfDetector {
  return new TfDetector(cfg, initWeights(cfg, seed));
}

export function detectorFromWeights(cfg: ModelConfig, weights: TensorMap): TfDetector {
  return new TfDetector(cfg, weights);
}
