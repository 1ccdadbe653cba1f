// Conv weight layouts: tfjs keeps [kh, kw, ci, co] (depthwise [kh, kw, c, 1]), ONNX [co, ci/g, kh, kw].
// The one converter pair the importer, the export and the onnxruntime stepper share.

/** ONNX conv weight [co, ci/g, kh, kw] → tfjs [kh, kw, ci/g, co] (or [kh, kw, c, 1] when depthwise). */
export function onnxToTfConv(data: Float32Array, dims: number[], depthwise: boolean): { shape: number[]; data: Float32Array } {
  const [co, cig, kh, kw] = dims;
  const out = new Float32Array(data.length);
  if (depthwise) {
    for (let o = 0; o < co; o++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) out[(i * kw + j) * co + o] = data[(o * kh + i) * kw + j];
    return { shape: [kh, kw, co, 1], data: out };
  }
  for (let o = 0; o < co; o++) for (let c = 0; c < cig; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
    out[((i * kw + j) * cig + c) * co + o] = data[((o * cig + c) * kh + i) * kw + j];
  }
  return { shape: [kh, kw, cig, co], data: out };
}

/** The inverse of onnxToTfConv, for the ONNX export. */
export function tfToOnnxConv(data: Float32Array, shape: number[], depthwise: boolean): { dims: number[]; data: Float32Array } {
  const [kh, kw, ci, co] = shape;
  const out = new Float32Array(data.length);
  if (depthwise) {
    for (let o = 0; o < ci; o++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) out[(o * kh + i) * kw + j] = data[(i * kw + j) * ci + o];
    return { dims: [ci, 1, kh, kw], data: out };
  }
  for (let o = 0; o < co; o++) for (let c = 0; c < ci; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
    out[((o * ci + c) * kh + i) * kw + j] = data[((i * kw + j) * ci + c) * co + o];
  }
  return { dims: [co, ci, kh, kw], data: out };
}
