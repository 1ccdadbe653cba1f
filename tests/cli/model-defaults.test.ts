// Which model and hyper-parameters `simulate`, `experiment` and `train` use when told nothing: the
// model registry's default family and its training defaults, from the functions that resolve them.
// (`runs create` is asserted end to end, on the TrainTask a site receives: runs-create.test.ts.)
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import type { Command } from "commander";
import { buildProgram } from "../../cli/program.js";
import { trainCommandOptions } from "../../cli/commands/model.js";
import { defaultSimulateOptions, simulateHyperparameters } from "../../cli/simulate.js";
import { defaultExperimentOptions } from "../../experiments/index.js";
import { DEFAULT_EMA_DECAY, DEFAULT_MODEL_FAMILY, createModel, modelFamily, modelFamilyNames, needsBaseWeights, trainOptionsFor } from "../../services/model/index.js";
import { runCli } from "../helpers/processes.js";

/** The measured defaults for fine-tuning the pretrained base (docs/model.md; docs/results.md §H for the 16 epochs). */
const PRETRAINED = { lr: 1e-4, textLr: 1e-4, batchSize: 4, epochs: 16, freezeStages: 2, gradClip: 1, weightDecay: 0.05, emaDecay: 0.998 };
/** From random initialisation (`nano`). */
const SCRATCH = { lr: 2e-3, textLr: 2e-4, batchSize: 8, epochs: 3, freezeStages: 0, gradClip: 5, weightDecay: 0.05, emaDecay: 0.998 };

const pick = (o: { lr: number; textLr: number; batchSize: number; epochs?: number; freezeStages: number; gradClip: number; weightDecay: number; emaDecay?: number }) => ({
  lr: o.lr,
  textLr: o.textLr,
  batchSize: o.batchSize,
  epochs: o.epochs,
  freezeStages: o.freezeStages,
  gradClip: o.gradClip,
  weightDecay: o.weightDecay,
  emaDecay: o.emaDecay,
});

function walk(cmd: Command, path: string[] = []): { path: string; cmd: Command }[] {
  return [{ path: path.join(" "), cmd }, ...cmd.commands.flatMap((c) => walk(c, [...path, c.name()]))];
}

describe("default model and training defaults", () => {
  it("defaults - the registry's default is the pretrained yolox-nano, with the measured fine-tuning defaults; nano keeps the from-scratch ones", () => {
    assert.equal(DEFAULT_MODEL_FAMILY, "yolox-nano");
    assert.equal(needsBaseWeights(DEFAULT_MODEL_FAMILY), true);
    assert.deepEqual(pick(trainOptionsFor("yolox-nano")), PRETRAINED);
    assert.deepEqual(pick(trainOptionsFor("nano")), SCRATCH);
    assert.equal(DEFAULT_EMA_DECAY, 0.998);
    assert.equal(needsBaseWeights("nano"), false);
  });

  it("defaults - without its weights the default model is not created at all (no silent fallback), and the error names `medfcl model fetch`", () => {
    assert.throws(() => createModel(DEFAULT_MODEL_FAMILY, { seed: 1 }), /medfcl model fetch yolox-nano/);
  });

  it("defaults - every command's --model defaults to the registry's default, except `runs create`, which leaves it to the coordinator's registry", () => {
    const withModel = walk(buildProgram()).filter(({ cmd }) => cmd.options.some((o) => o.long === "--model" && /model family/.test(o.description)));
    const defaults = Object.fromEntries(withModel.map(({ path, cmd }) => [path, cmd.options.find((o) => o.long === "--model")!.defaultValue as string | undefined]));
    for (const path of ["simulate", "train", "experiment paradigms", "runs create"]) assert.ok(path in defaults, `${path} has --model (${Object.keys(defaults).join(", ")})`);
    for (const [path, value] of Object.entries(defaults)) assert.equal(value, path === "runs create" ? undefined : DEFAULT_MODEL_FAMILY, path);
  });

  it("defaults - simulate: the default model and its training defaults, in the options and in the hyper-parameters its runs ask for", () => {
    const o = defaultSimulateOptions();
    assert.equal(o.model, "yolox-nano");
    assert.deepEqual([o.lr, o.batchSize, o.epochs], [PRETRAINED.lr, PRETRAINED.batchSize, PRETRAINED.epochs]);
    const h = simulateHyperparameters(o);
    assert.deepEqual(
      [h.lr, h.text_lr, h.batch_size, h.epochs, h.freeze_stages, h.grad_clip, h.weight_decay],
      [PRETRAINED.lr, PRETRAINED.textLr, PRETRAINED.batchSize, PRETRAINED.epochs, PRETRAINED.freezeStages, PRETRAINED.gradClip, PRETRAINED.weightDecay],
    );
    const scratch = simulateHyperparameters(defaultSimulateOptions("nano"));
    assert.deepEqual([scratch.lr, scratch.text_lr, scratch.batch_size, scratch.epochs, scratch.freeze_stages, scratch.grad_clip], [SCRATCH.lr, SCRATCH.textLr, SCRATCH.batchSize, SCRATCH.epochs, SCRATCH.freezeStages, SCRATCH.gradClip]);
  });

  it("defaults - experiment: the default model and its training defaults", () => {
    const o = defaultExperimentOptions();
    assert.equal(o.model, "yolox-nano");
    assert.deepEqual([o.lr, o.batchSize, o.epochs], [PRETRAINED.lr, PRETRAINED.batchSize, PRETRAINED.epochs]);
  });

  it("defaults - `model list --json` (what the demo reads): the default first, then every registered family with the registry's training defaults and base weights", async () => {
    const r = await runCli(["model", "list", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const listed = JSON.parse(r.stdout) as { default: string; families: { name: string; default: boolean; baseWeights: { file: string; sha256: string } | null; training: unknown }[] };
    assert.equal(listed.default, DEFAULT_MODEL_FAMILY);
    assert.deepEqual(listed.families.map((f) => f.name), [DEFAULT_MODEL_FAMILY, ...modelFamilyNames().filter((n) => n !== DEFAULT_MODEL_FAMILY)]);
    assert.deepEqual(listed.families.map((f) => f.default), listed.families.map((f) => f.name === DEFAULT_MODEL_FAMILY));
    for (const f of listed.families) {
      const family = modelFamily(f.name);
      assert.deepEqual(f.training, family.training, f.name);
      assert.deepEqual(f.baseWeights && { file: f.baseWeights.file, sha256: f.baseWeights.sha256 }, family.baseWeights ? { file: family.baseWeights.file, sha256: family.baseWeights.sha256 } : null, f.name);
    }
    assert.ok(listed.families[0].baseWeights, "the default starts from published weights");
  });

  it("defaults - train --augment: a bad spec is refused before any model or data is touched, and the error names the option", async () => {
    const r = await runCli(["train", "--data", "/nonexistent", "--out", "/nonexistent/x.safetensors", "--augment", "flip=2"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--augment: augmentation "flip=2"/);
    assert.doesNotMatch(r.stderr, /nonexistent/);
  });

  it("defaults - train: without flags the model family's training defaults; a flag wins, and the text lr follows --lr by the family's ratio", () => {
    assert.deepEqual(pick(trainCommandOptions(DEFAULT_MODEL_FAMILY, {})), PRETRAINED);
    assert.deepEqual(pick(trainCommandOptions("nano", {})), SCRATCH);
    const flagged = trainCommandOptions("nano", { lr: "1e-3", epochs: "2", freeze: "1" });
    assert.deepEqual([flagged.lr, flagged.textLr, flagged.epochs, flagged.freezeStages, flagged.batchSize], [1e-3, 1e-3 * 0.1, 2, 1, SCRATCH.batchSize]);
    assert.equal(modelFamily("yolox-nano").training.textLrRatio, 1);
  });
});
