export { Graph, TRAIN_OPSET, broadcastShapes, numel, type DType, type GNode, type ValueInfo } from "./graph.js";
export { buildGradients, differentiableOps, registerGradient, unbroadcast, type GradContext, type GradRule } from "./grad.js";
export { GraphError, OrtTrainError, UnsupportedOpError } from "./errors.js";
export { createSession, defaultThreads, type ExecutionProvider, type SessionOptions } from "./runtime.js";
export { ADAM, TRAIN_IO, buildTrainGraph, type TrainGraph, type TrainGraphOptions } from "./train-graph.js";
export { OrtStepper, fromOnnxLayout, toOnnxLayout, type StepResult } from "./stepper.js";
export { OrtWorkerTrainer } from "./engine.js";
export type { WorkerTrainOptions } from "./protocol.js";
