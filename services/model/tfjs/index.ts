// The tfjs runtime: backend start-up, convolutions, the detector's layers and forward passes, the
// imported YOLOX backbone, losses and prediction.
export { initBackend, wasmDir, type BackendName, type InitBackendOptions } from "./backend.js";
export { conv2d, depthwiseConv2d, explicitPads, setFilterGradMethod, type ConvPad, type FilterGradMethod } from "./conv.js";
export { TfDetector, asTfDetector, checkWeights, createDetector, detectorFromWeights, type Detector } from "./detector.js";
export { locations, type Locations, type ParamLookup, type RawOutputs } from "./model.js";
export { runGraph } from "./graph-run.js";
export { importYolox } from "./yolox.js";
export { defaultLossWeights, detectionLoss, type LossWeights } from "./loss.js";
export { decodeDetections, defaultPredictOptions, embedSamples, predictDataset, predictWith, runTfjs, type RawImageOutputs } from "./predict.js";
