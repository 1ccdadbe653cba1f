import { tf } from "./backend.js";
import { ModelOptionError } from "../core/errors.js";

/** [top, bottom, left, right] */
export type Pads = [number, number, number, number];
export type ConvPad = "same" | "valid" | Pads;

/** TensorFlow's rule for "same": the odd extra pixel goes at the bottom/right. */
export function explicitPads(inH: number, inW: number, kh: number, kw: number, stride: number, pad: ConvPad): Pads {
  if (Array.isArray(pad)) return pad;
  if (pad === "valid") return [0, 0, 0, 0];
  const outH = Math.ceil(inH / stride);
  const outW = Math.ceil(inW / stride);
  const th = Math.max((outH - 1) * stride + kh - inH, 0);
  const tw = Math.max((outW - 1) * stride + kw - inW, 0);
  return [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
}

export type FilterGradMethod = "batch-conv" | "im2col";
let filterGradMethod: FilterGradMethod = "batch-conv";
/** Which formulation computes dW (both avoid Conv2DBackpropFilter, which tfjs-wasm lacks). */
export function setFilterGradMethod(m: FilterGradMethod): void {
  filterGradMethod = m;
}

function padInput(x: tf.Tensor4D, p: Pads): tf.Tensor4D {
  if (p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0) return x;
  return tf.pad(x, [[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]]);
}

/**
 * dW of a NHWC conv with filter [kh,kw,ci,co], from the padded input and dy.
 * "batch-conv" (default, fastest on wasm): swap roles so that input channels are the batch and the
 * image batch is the channel axis, then one dilated conv with dy as the filter yields dW directly:
 * dW[i,j,c,o] = Σ_{b,h,w} xp[b, h·s+i, w·s+j, c] · dy[b,h,w,o].
 * "im2col": patches via a depthwise conv over one-hot filters, contracted with dyᵀ in one matMul
 * (wasm's matMul with transposeA is slow, so dy is transposed explicitly).
 * wasm's native Conv3DBackpropFilterV2 was tried too and gives wrong results for stride 2.
 */
export function convFilterGrad(xp: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number, stride: number): tf.Tensor4D {
  const ci = xp.shape[3];
  const [, ho, wo, co] = dy.shape;
  if (filterGradMethod === "batch-conv") {
    const xt = tf.transpose(xp, [3, 1, 2, 0]); // [ci, H, W, B]
    const dyt = tf.transpose(dy, [1, 2, 0, 3]); // [ho, wo, B, co]
    // The output is larger than the kernel when stride leaves unused rows/cols: keep the top-left kh×kw.
    const needH = (ho - 1) * stride + kh;
    const needW = (wo - 1) * stride + kw;
    const xc = xt.shape[1] === needH && xt.shape[2] === needW ? xt : tf.slice(xt, [0, 0, 0, 0], [ci, needH, needW, xt.shape[3]]);
    const g = tf.conv2d(xc, dyt as tf.Tensor4D, 1, "valid", "NHWC", stride); // [ci, kh, kw, co]
    return tf.transpose(g, [1, 2, 0, 3]);
  }
  const k = kh * kw;
  const oneHot = tf.tidy(() => {
    const eye = tf.reshape(tf.eye(k), [kh, kw, 1, k]);
    return tf.tile(eye, [1, 1, ci, 1]) as tf.Tensor4D;
  });
  // Channel order of the patches is c*k + (i*kw + j).
  const patches = tf.depthwiseConv2d(xp, oneHot, stride, "valid");
  const n = dy.shape[0] * ho * wo;
  const p2 = tf.reshape(patches, [n, ci * k]);
  const dyT = tf.transpose(tf.reshape(dy, [n, co])); // [co, n]
  const dwT = tf.matMul(dyT, p2); // [co, ci*k]
  return tf.transpose(tf.reshape(dwT, [co, ci, kh, kw]), [2, 3, 1, 0]) as tf.Tensor4D;
}

/**
 * dX of a NHWC conv as a stride-1 conv of the zero-upsampled dy with the flipped, in/out-swapped
 * filter. wasm's native Conv2DBackpropInput is a plain loop, about 10× slower than this.
 */
export function convInputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, inH: number, inW: number, stride: number, p: Pads): tf.Tensor4D {
  const [kh, kw] = w.shape;
  const b = dy.shape[0];
  const up = zeroUpsample(dy, stride);
  const wf = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
  const top = kh - 1 - p[0];
  const left = kw - 1 - p[2];
  const bottomPad = inH - 1 - (up.shape[1] - 1) - top + (kh - 1);
  const rightPad = inW - 1 - (up.shape[2] - 1) - left + (kw - 1);
  if (top < 0 || left < 0 || bottomPad < 0 || rightPad < 0) {
    // Pads ≥ kernel size never occur in this model; fall back to the native kernel.
    return tf.engine().runKernel("Conv2DBackpropInput", { dy, filter: w }, {
      strides: [stride, stride],
      pad: [[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]],
      dataFormat: "NHWC",
      inputShape: [b, inH, inW, w.shape[2]],
    }) as tf.Tensor4D;
  }
  return tf.conv2d(up, wf, 1, [[0, 0], [top, bottomPad], [left, rightPad], [0, 0]]);
}

/**
 * 2-D convolution (NHWC, filter [kh,kw,ci,co]) whose gradient uses only fast kernels the wasm
 * backend has (see convInputGrad / convFilterGrad). Checked against the cpu backend's gradients in
 * tests/services/model/tfjs/conv.test.ts.
 */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, pad: ConvPad): tf.Tensor4D {
  const [kh, kw] = w.shape;
  const p = explicitPads(x.shape[1], x.shape[2], kh, kw, stride, pad);
  const tfPad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]];
  const f = tf.customGrad(((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xi, wi, save] = inputs as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    // Tensors the gradient needs must go through save(): plain closure captures may be disposed by
    // the time the tape runs backwards.
    save([xi, wi]);
    return {
      value: tf.conv2d(xi, wi, stride, tfPad),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dy4 = dy as tf.Tensor4D;
        const dx = convInputGrad(dy4, ws, xs.shape[1], xs.shape[2], stride, p);
        const dw = convFilterGrad(padInput(xs, p), dy4, kh, kw, stride);
        return [dx, dw];
      },
    };
  }) as Parameters<typeof tf.customGrad>[0]);
  return f(x, w) as tf.Tensor4D;
}

/**
 * Depthwise conv (NHWC, filter [kh,kw,c,1], multiplier 1) with a gradient made of kernels the wasm
 * backend has (it lacks both DepthwiseConv2dNativeBackprop kernels):
 * dX is the stride-1 depthwise conv of the zero-upsampled dy with the spatially flipped filter;
 * dW[i,j,c] = Σ_{b,h,w} xp[b, h·s+i, w·s+j, c] · dy[b,h,w,c] (see depthwiseFilterGrad).
 * Checked against the cpu backend's gradients in tests/services/model/tfjs/conv.test.ts.
 */
export function depthwiseConv2d(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, pad: ConvPad): tf.Tensor4D {
  const [kh, kw] = w.shape;
  const p = explicitPads(x.shape[1], x.shape[2], kh, kw, stride, pad);
  const tfPad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]];
  const f = tf.customGrad(((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xi, wi, save] = inputs as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([xi, wi]);
    return {
      value: tf.depthwiseConv2d(xi, wi, stride, tfPad),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dy4 = dy as tf.Tensor4D;
        return [depthwiseInputGrad(dy4, ws, xs.shape[1], xs.shape[2], stride, p), depthwiseFilterGrad(padInput(xs, p), dy4, kh, kw, stride)];
      },
    };
  }) as Parameters<typeof tf.customGrad>[0]);
  return f(x, w) as tf.Tensor4D;
}

/** Interleaves s−1 zero rows/cols after every element of dy, then drops the trailing ones. */
function zeroUpsample(dy: tf.Tensor4D, s: number): tf.Tensor4D {
  if (s === 1) return dy;
  const [b, ho, wo, c] = dy.shape;
  const zc = tf.zeros([b, ho, wo, s - 1, c]);
  const cols = tf.reshape(tf.concat([tf.expandDims(dy, 3), zc], 3), [b, ho, wo * s, c]);
  const zr = tf.zeros([b, ho, s - 1, wo * s, c]);
  const rows = tf.reshape(tf.concat([tf.expandDims(cols, 2), zr], 2), [b, ho * s, wo * s, c]);
  return tf.slice(rows, [0, 0, 0, 0], [b, (ho - 1) * s + 1, (wo - 1) * s + 1, c]) as tf.Tensor4D;
}

export function depthwiseInputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, inH: number, inW: number, stride: number, p: Pads): tf.Tensor4D {
  const [kh, kw] = w.shape;
  const up = zeroUpsample(dy, stride);
  const top = kh - 1 - p[0];
  const left = kw - 1 - p[2];
  const bottom = inH - up.shape[1] - top + (kh - 1);
  const right = inW - up.shape[2] - left + (kw - 1);
  // The spatial flip as a matMul with the anti-identity (exact): wasm's Reverse is a slow generic loop.
  const flip = tf.reverse(tf.eye(kh * kw), [1]);
  const wf = tf.reshape(tf.matMul(flip, tf.reshape(w, [kh * kw, -1])), w.shape) as tf.Tensor4D;
  // Negative pads (pads ≥ kernel) would need a crop; no imported model has them.
  if (top < 0 || left < 0 || bottom < 0 || right < 0) throw new ModelOptionError("conv", `depthwise gradient with pads [${p.join(",")}] ≥ kernel ${kh}x${kw} is not supported`);
  return tf.depthwiseConv2d(up, wf, 1, [[0, 0], [top, bottom], [left, right], [0, 0]]);
}

/**
 * dW of a depthwise conv as one depthwise conv: the (batch, channel) pairs become the channels of a
 * single image, dy (dilated by the stride) is the filter, and the kh×kw output is summed over the
 * batch. 2–4× faster on wasm than a strided slice, product and sum per tap.
 */
export function depthwiseFilterGrad(xp: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number, stride: number): tf.Tensor4D {
  const [b, ho, wo, c] = dy.shape;
  const needH = (ho - 1) * stride + kh;
  const needW = (wo - 1) * stride + kw;
  const xc = xp.shape[1] === needH && xp.shape[2] === needW ? xp : tf.slice(xp, [0, 0, 0, 0], [b, needH, needW, c]);
  const image = tf.reshape(tf.transpose(xc, [1, 2, 0, 3]), [1, needH, needW, b * c]) as tf.Tensor4D;
  const filter = tf.reshape(tf.transpose(dy, [1, 2, 0, 3]), [ho, wo, b * c, 1]) as tf.Tensor4D;
  const g = tf.depthwiseConv2d(image, filter, 1, "valid", "NHWC", stride); // [1, kh, kw, b·c]
  return tf.reshape(tf.sum(tf.reshape(g, [kh, kw, b, c]), 2), [kh, kw, c, 1]);
}
