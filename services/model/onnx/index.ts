// ONNX: the export of a model family's inference graph, the import of a pretrained graph, and the
// static-shape graph the training engine differentiates.
export { ONNX_IO, ONNX_OPSET, createOnnxDetector, exportOnnx, type OnnxDetector } from "./export.js";
export { IMPORTABLE_OPS, importOnnx, pruneGraph, type GraphNode, type ImportedGraph, type ImportResult } from "./import.js";
export { Graph, TRAIN_OPSET, broadcastShapes, numel, type DType, type GNode, type ValueInfo } from "./graph.js";
