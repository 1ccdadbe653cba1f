/**
 * `yolox-nano`, the pretrained foundation: YOLOX-Nano (COCO, Apache-2.0) imported from its
 * published ONNX file as the image encoder, neck and box/objectness head, made grounded by
 * replacing its 80 class logits with region–word alignment against the prompt (GLIP's recipe).
 * The text encoder and the alignment head are new, seeded tensors.
 */
import { groundedConfig } from "../core/config.js";
import { REG_CLIP } from "../core/constants.js";
import { ModelOptionError } from "../core/errors.js";
import { ONNX_IO, graphAttr, int, ints, textGraph, type ExportBuilder } from "../onnx/builder.js";
import { isDepthwise } from "../onnx/import.js";
import { alignSpecs, convSpec, initWeightsFromSpecs, textSpecs, zeros, type ParamSpec } from "../core/params.js";
import type { ModelConfig } from "../core/types.js";
import { backboneEmbedding, groundedForward, importYolox } from "../tfjs/yolox.js";
import type { ModelFamily } from "./family.js";

/**
 * An imported backbone's tensors (in graph order, with the groups the importer found), the text
 * encoder, and the new alignment head: a 1×1 conv from the source class features to d, the token
 * projection and the per-token bias with the prior folded in.
 */
function groundedSpecs(cfg: ModelConfig): ParamSpec[] {
  const bb = cfg.backbone!;
  const s: ParamSpec[] = [];
  for (const [name, { shape, group }] of Object.entries(bb.params)) {
    const isWeight = name.endsWith(".weight");
    const fanIn = shape.length === 4 ? shape[0] * shape[1] * shape[2] : 1;
    s.push({ name, shape: [...shape], init: isWeight ? { kind: "he", fanIn } : zeros, group, decay: isWeight });
  }
  textSpecs(s, cfg);
  const d = cfg.dModel;
  const c = bb.levels[0].clsChannels;
  convSpec(s, "head.align", 1, c, d, "head", { kind: "normal", std: 1 / Math.sqrt(c) });
  alignSpecs(s, cfg);
  return s;
}


/**
 * The grounded detector on an imported backbone: the source graph re-emitted node for node (its
 * NCHW layout is ONNX's own), fed by medfcl's NHWC RGB [0,1] image converted to the source pixel
 * convention, then the alignment head, YOLOX's boxes as l,t,r,b distances, and the objectness.
 */
function groundedGraph(b: ExportBuilder, cfg: ModelConfig): void {
  const { g, param, convParam, shape, linear } = b;
  const bb = cfg.backbone!;
  const gr = bb.graph;
  const d = cfg.dModel;
  const m = cfg.maxTokens;
  let x = g.node("Transpose", [ONNX_IO.image], [ints("perm", [0, 3, 1, 2])]);
  if (bb.inputBgr) x = g.node("Gather", [x, g.ints("bgr_index", [2, 1, 0])], [int("axis", 1)]);
  g.node("Mul", [x, g.scalar(bb.inputScale)], [], gr.input);
  for (const [name, c] of Object.entries(gr.consts)) {
    if (c.dtype === "int64") g.intsShaped(name, c.values, c.dims);
    else g.const(name, Float32Array.from(c.values), c.dims);
  }
  for (const n of gr.nodes) {
    const inputs = [...n.inputs];
    if (n.op === "Conv") {
      // Initializers carry medfcl's parameter names, so the export (and the training graph built
      // from it) addresses tensors as checkpoints do.
      inputs[1] = convParam(gr.params[n.inputs[1]].replace(/\.weight$/, ""), undefined, isDepthwise(n));
      inputs[2] = param(gr.params[n.inputs[2]]);
    }
    g.nodes.push({ op: n.op, inputs, outputs: n.outputs, name: n.name, attrs: Object.fromEntries(Object.entries(n.attrs).map(([k, v]) => [k, graphAttr(k, v)])) });
  }
  const { tokens } = textGraph(b, cfg);
  const tokAlignT = g.node("Transpose", [linear(tokens, "align.token_proj")], [ints("perm", [0, 2, 1])]);
  const tokBias = g.node("Reshape", [linear(tokens, "align.token_bias"), shape([-1, 1, m])]);
  const logits: string[] = [];
  const boxes: string[] = [];
  const objs: string[] = [];
  const flat = (t: string, c: number) => g.node("Transpose", [g.node("Reshape", [t, shape([0, c, -1])])], [ints("perm", [0, 2, 1])]);
  for (const l of bb.levels) {
    const o = g.node("Conv", [l.clsFeat, convParam("head.align"), param("head.align.bias")], [ints("kernel_shape", [1, 1]), ints("strides", [1, 1]), ints("pads", [0, 0, 0, 0]), ints("dilations", [1, 1])]);
    logits.push(g.node("Add", [g.node("Mul", [g.node("MatMul", [flat(o, d), tokAlignT]), g.scalar(1 / Math.sqrt(d))]), tokBias]));
    const ch = (i: number) => g.node("Slice", [l.reg, g.ints(`reg_s_${l.stride}_${i}`, [i]), g.ints(`reg_e_${l.stride}_${i}`, [i + 1]), g.ints(`reg_a_${l.stride}_${i}`, [1])]);
    const half = (t: string) => g.node("Mul", [g.node("Exp", [g.node("Clip", [t, g.scalar(-REG_CLIP), g.scalar(REG_CLIP)])]), g.scalar(l.stride / 2)]);
    const off = (t: string) => g.node("Mul", [g.node("Sub", [t, g.scalar(0.5)]), g.scalar(l.stride)]);
    const [dx, dy, hw, hh] = [off(ch(0)), off(ch(1)), half(ch(2)), half(ch(3))];
    const ltrb = g.node("Concat", [g.node("Sub", [hw, dx]), g.node("Sub", [hh, dy]), g.node("Add", [hw, dx]), g.node("Add", [hh, dy])], [int("axis", 1)]);
    boxes.push(flat(ltrb, 4));
    objs.push(flat(l.obj, 1));
  }
  g.node("Concat", logits, [int("axis", 1)], ONNX_IO.logits);
  g.node("Concat", boxes, [int("axis", 1)], ONNX_IO.boxes);
  g.node("Concat", objs, [int("axis", 1)], ONNX_IO.centerness);
}


export const yoloxNano: ModelFamily = {
  name: "yolox-nano",
  summary: "YOLOX-Nano pretrained on COCO, made grounded (`medfcl model fetch yolox-nano` first)",
  baseWeights: {
    url: "https://github.com/Kazuhito00/YOLOX-ONNX-TFLite-Sample/raw/ac07155e3ac8a531d89d24204e50f364d3444275/model/yolox_nano.onnx",
    sha256: "695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14",
    bytes: 3_660_092,
    file: "yolox_nano.onnx",
    license: "Apache-2.0",
    provenance: "Megvii YOLOX 0.1.1rc0 yolox_nano.pth (COCO, 25.3 AP at 416 px), exported by YOLOX's tools/export_onnx.py (opset 11, batch norm folded)",
  },
  // The paper's fine-tuning settings (lr 1e-4, batch 4, bottom two stages frozen, clip 1), for 16
  // epochs: where held-out AP stops rising on the real polyp domains (the epoch rule,
  // docs/results.md: Kvasir 13, Kvasir-Sessile 16, BKAI below, with the weights' moving average).
  // The text encoder is new (GLIP's is a pretrained BERT), so it learns at the full lr.
  training: { lr: 1e-4, textLrRatio: 1, weightDecay: 0.05, batchSize: 4, epochs: 16, freezeStages: 2, gradClip: 1 },
  /** The pretrained tensors plus seeded ones for what is new; the seed changes only the new tensors. */
  create({ seed, inputSize, baseWeights }) {
    if (!baseWeights) throw new ModelOptionError("baseWeights", "yolox-nano is imported from its published weights; run `medfcl model fetch yolox-nano` (or pass --base-weights FILE)");
    const { backbone, weights: pretrained } = importYolox(baseWeights, "yolox-nano", "yolox-nano");
    const config = groundedConfig(backbone, inputSize ? { inputSize } : {});
    const weights = initWeightsFromSpecs(groundedSpecs(config), seed);
    for (const [k, t] of pretrained) weights.set(k, t);
    return { config, weights };
  },
  validate(c) {
    if (!c.backbone) throw new ModelOptionError("backbone", `model "${c.size}" needs its imported backbone in the config`);
    if (c.fusion) throw new ModelOptionError("fusion", "fusion is not available on an imported backbone");
    if (c.backbone.levels.some((l, i) => 2 ** c.levels[i] !== l.stride)) throw new ModelOptionError("levels", "levels must match the imported backbone's strides");
  },
  paramSpecs: groundedSpecs,
  forward: groundedForward,
  embed: backboneEmbedding,
  embedChannels: (cfg) => cfg.backbone!.embedChannels,
  exportGraph: groundedGraph,
};
