import { strict as assert } from "node:assert";
import { before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { conv2d, initBackend, setFilterGradMethod, type ConvPad, type FilterGradMethod } from "../../../../services/model/index.js";
import { lcgValues, relToMax } from "../helpers.js";

type Case = { n: number; h: number; w: number; k: number; ci: number; co: number; stride: number; pad: ConvPad };

/** Gradients of a non-linear loss of the conv output, so dy is not constant. */
function grads(c: Case, x: Float32Array, wt: Float32Array, custom: boolean): [Float32Array, Float32Array] {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, [c.n, c.h, c.w, c.ci]);
    const wtt = tf.tensor4d(wt, [c.k, c.k, c.ci, c.co]);
    const tfPad = Array.isArray(c.pad) ? ([[0, 0], [c.pad[0], c.pad[1]], [c.pad[2], c.pad[3]], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]]) : c.pad;
    const f = (a: tf.Tensor, b: tf.Tensor) => {
      const y = custom ? conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad) : tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, tfPad);
      return tf.sum(tf.mul(y, tf.sin(y)));
    };
    const [gx, gw] = tf.grads(f)([xt, wtt]);
    return [gx.dataSync() as Float32Array, gw.dataSync() as Float32Array];
  });
}

describe("conv gradient", () => {
  before(async () => {
    await initBackend("wasm");
  });

  const cases: Case[] = [];
  for (const stride of [1, 2]) {
    for (const pad of ["same", "valid", [1, 1, 1, 1]] as ConvPad[]) {
      for (const [h, w, k, ci, co] of [
        [9, 10, 3, 3, 5],
        [8, 7, 1, 4, 6],
        [12, 12, 5, 2, 3],
      ]) {
        if (Array.isArray(pad) && k === 1) continue;
        cases.push({ n: 2, h, w, k, ci, co, stride, pad });
      }
    }
  }

  for (const method of ["batch-conv", "im2col"] as FilterGradMethod[]) {
    it(`conv gradient - ${method} dW and dX on wasm match the cpu backend's built-in gradients (rel err <= 1e-4)`, async () => {
      setFilterGradMethod(method);
      try {
        for (const [ci, c] of cases.entries()) {
          const x = lcgValues(c.n * c.h * c.w * c.ci, 100 + ci);
          const wt = lcgValues(c.k * c.k * c.ci * c.co, 200 + ci);
          await tf.setBackend("wasm");
          const [gx, gw] = grads(c, x, wt, true);
          await tf.setBackend("cpu");
          const [rx, rw] = grads(c, x, wt, false);
          const label = `${JSON.stringify(c)}`;
          assert.ok(relToMax(gx, rx) <= 1e-4, `dX ${label}: ${relToMax(gx, rx)}`);
          assert.ok(relToMax(gw, rw) <= 1e-4, `dW ${label}: ${relToMax(gw, rw)}`);
        }
      } finally {
        setFilterGradMethod("batch-conv");
        await tf.setBackend("wasm");
      }
    });
  }
});
