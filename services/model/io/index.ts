// Tensor files: safetensors, checkpoints, deltas and the streaming delta scan. Loads neither tfjs nor
// onnxruntime (tests/build/import-weight.test.ts), so the coordinator and the transport layer can
// import it.
export { decodeSafetensors, encodeSafetensors, readSafetensorsHeader } from "./safetensors.js";
export { CKPT_META, checkpointBytes, loadCheckpoint, parseCheckpoint, saveCheckpoint } from "./checkpoint.js";
export { DeltaScanner, scanDelta, type DeltaSummary } from "./delta-scan.js";
export { DELTA_ENCODINGS, DELTA_META, MAX_DELTA_ELEMENTS, decodeDelta, encodeDelta, type DecodeDeltaOptions, type DeltaEncoding } from "./delta.js";
