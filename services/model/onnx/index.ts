// ONNX: one graph representation (proto.ts: nodes, attributes, constants and their protobuf codec),
// the static-shape graph the training engine differentiates (graph.ts), the export of a model
// family's inference graph (builder.ts, export.ts), the import of a pretrained graph (import.ts) and
// the conv weight layouts (layout.ts).
export { ONNX_IO, createOnnxDetector, exportOnnx, type OnnxDetector } from "./export.js";
export { IMPORTABLE_OPS, importOnnx, pruneGraph, type GraphNode, type ImportedGraph, type ImportResult } from "./import.js";
export { Graph, broadcastShapes, numel } from "./graph.js";
export { ONNX_OPSET, decodeModel, encodeModel, type Attr, type ConstTensor, type DType, type GNode, type ValueInfo } from "./proto.js";
export { onnxToTfConv, tfToOnnxConv } from "./layout.js";
