// What every other part of the model builds on: types, architecture config, parameter specs, the
// tokenizer and its vocabulary, shared constants and errors. Loads neither tfjs nor onnxruntime.
export type { BackboneLevel, ImportedBackbone, ModelConfig, ModelSize, ParamGroup, PredictOptions, ReplayOptions, TensorMap, TrainEngine, TrainOptions, TrainProgress, TrainResult } from "./types.js";
export { DEFAULT_TRAIN_ENGINE, TRAIN_ENGINES } from "./types.js";
export { ArchitectureMismatchError, BackendUnavailableError, CheckpointError, GraphError, ModelOptionError, OrtTrainError, UnsupportedOpError } from "./errors.js";
export { configHash, groundedConfig, parseModelConfig, stridesOf } from "./config.js";
export { initWeightsFromSpecs, type ParamSpec } from "./params.js";
export { encodeCaption, splitWords, tokenId, vocabSize, type EncodedCaption } from "./tokenizer.js";
export { CLS_ID, PAD_ID, SEP_ID, SPECIAL_TOKENS, WORDS } from "./vocab.js";
export { DEFAULT_EMA_DECAY, LN_EPS, MASK_NEG, PIXEL_MEAN, PIXEL_STD, REG_CLIP } from "./constants.js";
