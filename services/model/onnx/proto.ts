// medfcl's one in-memory ONNX representation (nodes, attributes, constant tensors) and the only code
// that turns it into ONNX protobuf and back. The export builder (builder.ts), the importer
// (import.ts) and the training graph (graph.ts) all write and read ONNX through here, so an
// attribute or a tensor is encoded one way. Loads neither tfjs nor onnxruntime.
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;

/** The opset of every graph medfcl writes (export and training graphs). */
export const ONNX_OPSET = 17;

export type DType = "float32" | "int64" | "int32" | "bool";
export interface ValueInfo {
  dtype: DType;
  shape: number[];
}
export type ConstData = Float32Array | BigInt64Array | Int32Array | Uint8Array;
export interface ConstTensor extends ValueInfo {
  data: ConstData;
}
/** An ONNX attribute value, tagged by its ONNX type (an int and a float stay apart). */
export type Attr = { i: number } | { f: number } | { ints: number[] } | { floats: number[] } | { s: string };
export interface GNode {
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attr>;
}

export const DTYPE_CODE: Record<DType, number> = { float32: DT.FLOAT, int64: DT.INT64, int32: DT.INT32, bool: DT.BOOL };
export const CODE_DTYPE = new Map<number, DType>(Object.entries(DTYPE_CODE).map(([k, v]) => [v, k as DType]));

export function encodeAttr(name: string, a: Attr): onnxProto.onnx.IAttributeProto {
  if ("i" in a) return { name, type: AT.INT, i: a.i };
  if ("f" in a) return { name, type: AT.FLOAT, f: a.f };
  if ("ints" in a) return { name, type: AT.INTS, ints: a.ints };
  if ("floats" in a) return { name, type: AT.FLOATS, floats: a.floats };
  return { name, type: AT.STRING, s: new TextEncoder().encode(a.s) };
}

/** An attribute's value, or null for a type medfcl does not read (tensors, graphs); the caller names it in its error. */
export function decodeAttr(a: onnxProto.onnx.IAttributeProto): Attr | null {
  switch (a.type) {
    case AT.INT:
      return { i: Number(a.i ?? 0) };
    case AT.FLOAT:
      return { f: a.f ?? 0 };
    case AT.INTS:
      return { ints: (a.ints ?? []).map(Number) };
    case AT.FLOATS:
      return { floats: [...(a.floats ?? [])] };
    case AT.STRING:
      return { s: new TextDecoder().decode(a.s ?? new Uint8Array()) };
    default:
      return null;
  }
}

export function encodeNode(n: GNode): onnxProto.onnx.INodeProto {
  return { opType: n.op, name: n.name, input: n.inputs, output: n.outputs, attribute: Object.entries(n.attrs).map(([k, a]) => encodeAttr(k, a)) };
}

/** An initializer holding `c`'s bytes as raw data (little-endian, as ONNX stores them). */
export function encodeTensor(name: string, c: ConstTensor): onnxProto.onnx.ITensorProto {
  return { name, dataType: DTYPE_CODE[c.dtype], dims: c.shape, rawData: new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength) };
}

/**
 * A tensor's values in its own type (raw data or the typed fields), or null for a data type medfcl
 * does not read; the caller names the tensor in its error.
 */
export function decodeTensor(t: onnxProto.onnx.ITensorProto): ConstTensor | null {
  const dtype = CODE_DTYPE.get(t.dataType ?? 0);
  if (!dtype) return null;
  const shape = (t.dims ?? []).map(Number);
  // A copy, so the typed array is aligned whatever the offset of the protobuf's bytes.
  const raw = t.rawData && t.rawData.length > 0 ? Uint8Array.from(t.rawData) : null;
  let data: ConstData;
  if (dtype === "float32") data = raw ? new Float32Array(raw.buffer) : Float32Array.from(t.floatData ?? []);
  else if (dtype === "int64") data = raw ? new BigInt64Array(raw.buffer) : BigInt64Array.from((t.int64Data ?? []).map((v) => BigInt(v.toString())));
  else if (dtype === "int32") data = raw ? new Int32Array(raw.buffer) : Int32Array.from(t.int32Data ?? []);
  else data = raw ?? Uint8Array.from(t.int32Data ?? []);
  return { dtype, shape, data };
}

/** A graph input or output; a string dimension is symbolic (e.g. "batch"). */
export function valueInfo(name: string, dtype: DType, dims: readonly (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: DTYPE_CODE[dtype], shape: { dim: dims.map((v) => (typeof v === "string" ? { dimParam: v } : { dimValue: v })) } } } };
}

export interface OnnxModelParts {
  name: string;
  nodes: readonly GNode[];
  initializers: Iterable<[string, ConstTensor]>;
  inputs: onnxProto.onnx.IValueInfoProto[];
  outputs: onnxProto.onnx.IValueInfoProto[];
  /** Model metadata (the export stores its ModelConfig under "medfcl.config"). */
  metadata?: Record<string, string>;
}

/** An opset-17 ONNX model in the default domain, as bytes. */
export function encodeModel(p: OnnxModelParts): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "medfcl",
    producerVersion: "1",
    opsetImport: [{ domain: "", version: ONNX_OPSET }],
    graph: {
      name: p.name,
      node: p.nodes.map(encodeNode),
      initializer: [...p.initializers].map(([n, c]) => encodeTensor(n, c)),
      input: p.inputs,
      output: p.outputs,
    },
    ...(p.metadata ? { metadataProps: Object.entries(p.metadata).map(([key, value]) => ({ key, value })) } : {}),
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Parses ONNX bytes (throws protobuf's own error on bytes that are not a model; callers wrap it). */
export function decodeModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
