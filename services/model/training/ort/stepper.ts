import type * as ortTypes from "onnxruntime-node";
import type { TensorMap } from "../../../tensors/index.js";
import { checkWeights } from "../../tfjs/detector.js";
import { defaultLossWeights, type LossWeights } from "../../tfjs/loss.js";
import { locations, type Locations } from "../../tfjs/model.js";
import { paramSpecs } from "../../families/index.js";
import type { ParamSpec } from "../../core/params.js";
import { assignTargets } from "../targets.js";
import { emaDecayAt, lrFactor, trainableSpecs, type TrainBatch } from "../schedule.js";
import type { ModelConfig, TrainOptions } from "../../core/types.js";
import { ADAM, TRAIN_IO, buildTrainGraph, flatLayout } from "./train-graph.js";
import { createSession, ort, type SessionOptions } from "./runtime.js";
import { onnxToTfConv, tfToOnnxConv } from "../../onnx/layout.js";

export interface StepResult {
  loss: number;
  cls: number;
  box: number;
  ctr: number;
  gradNorm: number;
}

/** Conv weights: tfjs [kh, kw, ci, co] → ONNX [co, ci, kh, kw] (a depthwise [kh, kw, c, 1] lands as [1, c, kh, kw], the same bytes as [c, 1, kh, kw]). */
export function toOnnxLayout(spec: ParamSpec, data: Float32Array): Float32Array {
  return spec.shape.length === 4 ? tfToOnnxConv(data, spec.shape, false).data : Float32Array.from(data);
}

/** ONNX [co, ci, kh, kw] → tfjs [kh, kw, ci, co]. */
export function fromOnnxLayout(spec: ParamSpec, data: Float32Array): Float32Array {
  if (spec.shape.length !== 4) return Float32Array.from(data);
  const [kh, kw, ci, co] = spec.shape;
  return onnxToTfConv(data, [co, ci, kh, kw], false).data;
}

/** The flat parameters or an Adam moment, double-buffered: each step reads `cur` and onnxruntime writes `next` in place. */
interface Slot {
  cur: ortTypes.Tensor;
  next: ortTypes.Tensor;
}

/**
 * Trains the detector with the onnxruntime training-step graph (see train-graph.ts). Parameters and
 * Adam moments live in buffers that onnxruntime reads and writes directly (outputs are bound to
 * preallocated tensors and swapped each step), so a step copies nothing through JS but the batch.
 * One session per batch size (the last batch of an epoch may be smaller), built on first use.
 */
export class OrtStepper {
  readonly cfg: ModelConfig;
  readonly opts: TrainOptions;
  readonly specs: ParamSpec[];
  readonly trainable: ParamSpec[];
  #frozen: TensorMap;
  #slots = new Map<string, Slot>();
  #offsets: number[];
  #sessions = new Map<number, Promise<ortTypes.InferenceSession>>();
  #gradSessions = new Map<number, Promise<ortTypes.InferenceSession>>();
  #session: SessionOptions;
  #lossWeights: LossWeights;
  #loc: Locations;
  #step = 0;
  /** The moving average of the flat parameters (opts.emaDecay), in the ONNX layout. */
  #ema: Float32Array | null = null;

  constructor(cfg: ModelConfig, weights: TensorMap, opts: TrainOptions, session: SessionOptions = {}, lossWeights: LossWeights = defaultLossWeights()) {
    this.cfg = cfg;
    this.opts = opts;
    this.specs = paramSpecs(cfg);
    checkWeights(this.specs, weights);
    this.trainable = trainableSpecs(this.specs, opts.freezeStages);
    this.#frozen = new Map([...weights].map(([k, t]) => [k, { ...t, shape: [...t.shape], data: Float32Array.from(t.data) }]));
    this.#session = session;
    this.#lossWeights = lossWeights;
    this.#loc = locations(cfg);
    const { offsets, total } = flatLayout(this.trainable);
    this.#offsets = offsets;
    const params = new Float32Array(total);
    this.trainable.forEach((spec, k) => params.set(toOnnxLayout(spec, weights.get(spec.name)!.data), offsets[k]));
    const mk = (d?: Float32Array) => new ort.Tensor("float32", d ?? new Float32Array(total), [total]);
    if (opts.emaDecay) this.#ema = Float32Array.from(params);
    this.#slots.set(TRAIN_IO.params, { cur: mk(params), next: mk() });
    this.#slots.set(TRAIN_IO.m, { cur: mk(), next: mk() });
    this.#slots.set(TRAIN_IO.v, { cur: mk(), next: mk() });
  }

  get stepCount(): number {
    return this.#step;
  }

  #sessionFor(batch: number, mode: "step" | "grads"): Promise<ortTypes.InferenceSession> {
    const cache = mode === "step" ? this.#sessions : this.#gradSessions;
    let s = cache.get(batch);
    if (!s) {
      // Frozen tensors are baked in as constants; the trainable ones are inputs, so their values here do not matter.
      const tg = buildTrainGraph(this.cfg, this.#frozen, { batch, trainable: this.trainable, mode, gradClip: this.opts.gradClip, lossWeights: this.#lossWeights });
      s = createSession(tg.bytes, this.#session);
      cache.set(batch, s);
    }
    return s;
  }

  #batchFeeds(batch: TrainBatch): Record<string, ortTypes.Tensor> {
    const cfg = this.cfg;
    const b = batch.targets.length;
    const m = cfg.maxTokens;
    const t = assignTargets(cfg, this.#loc, batch.targets, m);
    const n = t.n;
    const ctrSum = Math.max(t.centerness.reduce((a, v) => a + v, 0), 1e-6);
    return {
      image: new ort.Tensor("float32", batch.images, [b, batch.size, batch.size, 3]),
      input_ids: new ort.Tensor("int32", batch.ids, [b, m]),
      attention_mask: new ort.Tensor("float32", batch.mask, [b, m]),
      [TRAIN_IO.tokenTargets]: new ort.Tensor("float32", t.tokenTargets, [b, n, m]),
      [TRAIN_IO.positive]: new ort.Tensor("float32", t.positive, [b, n]),
      [TRAIN_IO.boxes]: new ort.Tensor("float32", t.boxes, [b, n, 4]),
      [TRAIN_IO.centerness]: new ort.Tensor("float32", t.centerness, [b, n]),
      [TRAIN_IO.normPos]: new ort.Tensor("float32", Float32Array.of(Math.max(t.numPositive, 1)), []),
      [TRAIN_IO.ctrSum]: new ort.Tensor("float32", Float32Array.of(ctrSum), []),
    };
  }

  /** One AdamW step (the same schedule, clipping and groups as the tfjs Trainer). */
  async step(batch: TrainBatch, totalSteps: number): Promise<StepResult> {
    const b = batch.targets.length;
    const session = await this.#sessionFor(b, "step");
    const factor = lrFactor(this.opts, this.#step, totalSteps);
    const stepNo = this.#step + 1;
    const sc = (v: number) => new ort.Tensor("float32", Float32Array.of(v), []);
    const feeds: Record<string, ortTypes.Tensor> = {
      ...this.#batchFeeds(batch),
      [TRAIN_IO.bc1]: sc(1 - ADAM.beta1 ** stepNo),
      [TRAIN_IO.bc2]: sc(1 - ADAM.beta2 ** stepNo),
      [TRAIN_IO.lr("base")]: sc(this.opts.lr * factor),
      [TRAIN_IO.lr("text")]: sc(this.opts.textLr * factor),
      [TRAIN_IO.lrWd("base")]: sc(this.opts.lr * factor * this.opts.weightDecay),
      [TRAIN_IO.lrWd("text")]: sc(this.opts.textLr * factor * this.opts.weightDecay),
    };
    const fetches: Record<string, ortTypes.Tensor | null> = { [TRAIN_IO.loss]: null, [TRAIN_IO.cls]: null, [TRAIN_IO.box]: null, [TRAIN_IO.ctr]: null, [TRAIN_IO.gradNorm]: null };
    for (const [name, s] of this.#slots) {
      feeds[name] = s.cur;
      fetches[TRAIN_IO.next(name)] = s.next;
    }
    const out = await session.run(feeds, fetches);
    for (const s of this.#slots.values()) [s.cur, s.next] = [s.next, s.cur];
    this.#step++;
    if (this.#ema) {
      const d = emaDecayAt(this.opts.emaDecay!, this.#step);
      const p = this.#slots.get(TRAIN_IO.params)!.cur.data as Float32Array;
      const e = this.#ema;
      for (let i = 0; i < e.length; i++) e[i] = d * e[i] + (1 - d) * p[i];
    }
    const v = (k: string) => (out[k].data as Float32Array)[0];
    return { loss: v(TRAIN_IO.loss), cls: v(TRAIN_IO.cls), box: v(TRAIN_IO.box), ctr: v(TRAIN_IO.ctr), gradNorm: v(TRAIN_IO.gradNorm) };
  }

  /** The loss and every trainable parameter's gradient (tfjs layout) at the current weights, without a step. */
  async gradients(batch: TrainBatch): Promise<{ loss: number; grads: TensorMap }> {
    const session = await this.#sessionFor(batch.targets.length, "grads");
    const feeds: Record<string, ortTypes.Tensor> = this.#batchFeeds(batch);
    feeds[TRAIN_IO.params] = this.#slots.get(TRAIN_IO.params)!.cur;
    const out = await session.run(feeds);
    const grads: TensorMap = new Map();
    for (const spec of this.trainable) grads.set(spec.name, { dtype: "float32", shape: [...spec.shape], data: fromOnnxLayout(spec, out[TRAIN_IO.grad(spec.name)].data as Float32Array) });
    return { loss: (out[TRAIN_IO.loss].data as Float32Array)[0], grads };
  }

  /** Current weights in the checkpoint (tfjs) layout: the moving average when one is kept. */
  getWeights(): TensorMap {
    const flat = this.#ema ?? (this.#slots.get(TRAIN_IO.params)!.cur.data as Float32Array);
    const index = new Map(this.trainable.map((s, k) => [s.name, k]));
    const out: TensorMap = new Map();
    for (const spec of this.specs) {
      const k = index.get(spec.name);
      const n = spec.shape.reduce((a, b) => a * b, 1);
      const data = k === undefined ? Float32Array.from(this.#frozen.get(spec.name)!.data) : fromOnnxLayout(spec, flat.subarray(this.#offsets[k], this.#offsets[k] + n));
      out.set(spec.name, { dtype: "float32", shape: [...spec.shape], data });
    }
    return out;
  }

  async release(): Promise<void> {
    const all = [...this.#sessions.values(), ...this.#gradSessions.values()];
    this.#sessions.clear();
    this.#gradSessions.clear();
    for (const s of await Promise.allSettled(all)) if (s.status === "fulfilled") await s.value.release();
  }
}
