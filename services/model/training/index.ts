// Training: the schedule both engines share, the tfjs trainer, target assignment, and the
// onnxruntime engine (ort/).
export { emaDecayAt, lrFactor, trainableSpecs, type TrainBatch } from "./schedule.js";
export { assignTargets, type BatchTargets } from "./targets.js";
export { Trainer, imageLosses, packBatch, parseTrainOptions, trainDetector } from "./train.js";
export { OrtStepper, OrtWorkerTrainer } from "./ort/index.js";
