// The onnxruntime training engine: the gradient builder over onnx/graph.ts, the training graph, the
// stepper and its worker thread.
export { buildGradients, differentiableOps, registerGradient, unbroadcast, type GradContext, type GradRule } from "./grad.js";
export { GraphError, OrtTrainError, UnsupportedOpError } from "../../core/errors.js";
export { createSession, defaultThreads, type ExecutionProvider, type SessionOptions } from "./runtime.js";
export { ADAM, TRAIN_IO, buildTrainGraph, type TrainGraph, type TrainGraphOptions } from "./train-graph.js";
export { OrtStepper, fromOnnxLayout, toOnnxLayout, type StepResult } from "./stepper.js";
export { OrtWorkerTrainer } from "./engine.js";
export type { WorkerTrainOptions } from "./protocol.js";
