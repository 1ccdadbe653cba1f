import { loadCocoDataset, type CocoDataset } from "../services/data/index.js";
import { evaluateCheckpoint } from "../services/evaluation/index.js";
import {
  MODEL_NAMES,
  CheckpointError,
  DeltaScanner,
  checkpointBytes,
  configHash,
  decodeDelta,
  importBaseModel,
  initWeights,
  isBaseModel,
  isScratchSize,
  loadBaseWeights,
  modelConfig,
  parseCheckpoint,
  readSafetensorsHeader,
} from "../services/model/index.js";
import { addScaledTensors } from "../services/tensors/index.js";
import { ErrorCode, MedfclError } from "../services/errors/index.js";
import type { ModelOps } from "./model-ops.js";

const DTYPE_NAME = { float32: "F32" } as const;

/**
 * The production ModelOps: pure-JS weight init and tensor math, and central evaluation through the
 * ONNX export in onnxruntime-node (5–10× faster than tfjs-wasm here), scored by the COCO port.
 */
export interface DetectorModelOpsOptions {
  evalThreads?: number;
  inputSize?: number;
  /** The pretrained base's weights file; else $MEDFCL_BASE_WEIGHTS, else the cache (`medfcl model fetch`). */
  baseWeights?: string;
}

export function detectorModelOps(options: DetectorModelOpsOptions = {}): ModelOps {
  const datasets = new Map<string, Promise<CocoDataset>>();
  const dataset = (dir: string): Promise<CocoDataset> => {
    let p = datasets.get(dir);
    if (!p) {
      p = loadCocoDataset(dir);
      datasets.set(dir, p);
    }
    return p;
  };
  return {
    async createBase(model, seed, opts = {}) {
      const inputSize = opts.inputSize || options.inputSize;
      const overrides = inputSize ? { inputSize } : {};
      if (isBaseModel(model)) {
        const { config, weights } = importBaseModel(model, await loadBaseWeights(model, options.baseWeights), seed, overrides);
        return checkpointBytes(config, weights, { createdBy: `medfcl-coordinator:import ${model}` });
      }
      if (!isScratchSize(model)) {
        throw new MedfclError(ErrorCode.InvalidArgument, `unknown model "${model}"; use ${MODEL_NAMES.join(", ")}`, { details: { field: "model" } });
      }
      const cfg = modelConfig(model, overrides);
      return checkpointBytes(cfg, initWeights(cfg, seed), { createdBy: "medfcl-coordinator:init" });
    },
    inspect(checkpoint) {
      const { config, tensors } = parseCheckpoint(checkpoint, "model version");
      return {
        configHash: configHash(config),
        manifest: [...tensors].map(([name, t]) => ({ name, dtype: DTYPE_NAME[t.dtype], shape: [...t.shape] })),
      };
    },
    layoutOf(path) {
      return readSafetensorsHeader(path).entries.map(([name, e]) => {
        if (e.dtype !== "F32") throw new CheckpointError(`tensor "${name}" is ${e.dtype}; checkpoints hold F32`, { details: { tensor: name, file: path } });
        return { name, dtype: e.dtype, shape: [...e.shape] };
      });
    },
    deltaScanner(size, expect) {
      return new DeltaScanner(size, { expect });
    },
    decodeDelta(bytes, expect) {
      return decodeDelta(bytes, { expect }).delta;
    },
    applyDelta(base, delta, meta) {
      const { config, tensors } = parseCheckpoint(base, "base model");
      return checkpointBytes(config, addScaledTensors(tensors, delta, 1), { parent: meta.parent, createdBy: meta.createdBy });
    },
    async evaluate(checkpoint, sets) {
      const loaded = await Promise.all(sets.map(async (set) => ({ domain: set.domain, dataset: await dataset(set.dir) })));
      return evaluateCheckpoint(checkpoint, loaded, { threads: options.evalThreads });
    },
  };
}
