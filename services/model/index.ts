export type { ModelConfig, ModelSize, PredictOptions, ReplayOptions, TensorMap, TrainEngine, TrainOptions, TrainProgress, TrainResult } from "./types.js";
export { DEFAULT_TRAIN_ENGINE, TRAIN_ENGINES } from "./types.js";
export { ArchitectureMismatchError, BackendUnavailableError, CheckpointError, ModelOptionError } from "./errors.js";
export { initBackend, wasmDir, type BackendName, type InitBackendOptions } from "./backend.js";
export { MODEL_NAMES, MODEL_SIZES, configHash, groundedConfig, isScratchSize, modelConfig, parseModelConfig, stridesOf } from "./config.js";
export { conv2d, depthwiseConv2d, explicitPads, setFilterGradMethod, type ConvPad, type FilterGradMethod } from "./conv.js";
export { TfDetector, asTfDetector, checkWeights, createDetector, detectorFromWeights, type Detector } from "./detector.js";
export { paramSpecs, initWeights, type ParamSpec, type ParamGroup } from "./params.js";
export { encodeCaption, splitWords, tokenId, vocabSize, type EncodedCaption } from "./tokenizer.js";
export { assignTargets, type BatchTargets } from "./targets.js";
export { Trainer, defaultTrainOptions, emaDecayAt, fromScratchTrainOptions, imageLosses, lrFactor, packBatch, parseTrainOptions, trainDetector, trainableSpecs, type TrainBatch } from "./train.js";
export { decodeDetections, defaultPredictOptions, embedSamples, predictDataset, predictWith, runTfjs, type RawImageOutputs } from "./predict.js";
export { decodeSafetensors, encodeSafetensors, readSafetensorsHeader } from "./safetensors.js";
export { CKPT_META, checkpointBytes, loadCheckpoint, parseCheckpoint, saveCheckpoint } from "./checkpoint.js";
export { DeltaScanner, scanDelta, type DeltaSummary } from "./delta-scan.js";
export { DELTA_ENCODINGS, DELTA_META, MAX_DELTA_ELEMENTS, decodeDelta, encodeDelta, type DecodeDeltaOptions, type DeltaEncoding } from "./delta.js";
export { ONNX_IO, ONNX_OPSET, createOnnxDetector, exportOnnx, type OnnxDetector } from "./onnx.js";
export { IMPORTABLE_OPS, importOnnx, pruneGraph, type GraphNode, type ImportedGraph, type ImportResult } from "./onnx-import.js";
export { runGraph } from "./graph-run.js";
export { BASE_MODELS, importYolox, type BaseModelName, type ImportedBackbone } from "./yolox.js";
export {
  BaseWeightsError,
  PUBLISHED_WEIGHTS,
  WEIGHTS_ENV,
  baseModelInfo,
  cacheDir,
  cachedWeightsPath,
  fetchBaseWeights,
  importBaseModel,
  isBaseModel,
  loadBaseWeights,
  type PublishedWeights,
} from "./weights.js";
