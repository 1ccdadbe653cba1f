import { createRunRequest } from "../helpers/create-run-request.js";
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import type { CreateRunRequest__Output } from "../../generated/medfcl/v1/CreateRunRequest.js";
import { hyperDefaults, type HyperDefaults } from "../../coordinator/domain.js";
import { InvalidRunError } from "../../coordinator/errors.js";
import { createRunFromWire as createRunFromWireWith, hyperFromWire as hyperFromWireWith, hyperToWire, taskOutcomeFromWire, updateEncodingFromWire } from "../../coordinator/wire.js";
import { medfclProto, packageDefinition } from "../../services/transport/index.js";

/** A model family's training defaults as the admin service resolves them; values unlike any real family's, so a test sees where each came from. */
const FAMILY: HyperDefaults = { lr: 3e-4, textLrRatio: 0.5, weightDecay: 0.01, batchSize: 6, epochs: 5, freezeStages: 1, gradClip: 2 };
const resolveModel = (requested: string) => ({ model: requested || "family-default", defaults: FAMILY });
const createRunFromWire = (req: CreateRunRequest__Output) => createRunFromWireWith(req, resolveModel);
const hyperFromWire = (h: Parameters<typeof hyperFromWireWith>[0], runSeed: number) => hyperFromWireWith(h, runSeed, hyperDefaults(FAMILY, 1));

const request = createRunRequest;

/** Encodes with the real proto definition and decodes with the loader options both sides use. */
function roundTrip(typeName: string, value: object): unknown {
  void medfclProto();
  const def = packageDefinition()[`medfcl.v1.${typeName}`] as { serialize: (v: object) => Buffer; deserialize: (b: Buffer) => unknown };
  return def.deserialize(def.serialize(value));
}

describe("coordinator wire mapping", () => {
  it("wire - an unset optional hyper-parameter arrives unset (not 0) and takes the default; an explicit 0 is kept", () => {
    const req = roundTrip("CreateRunRequest", { name: "r1", strategy: "joint", sites: ["a"], hyperparameters: { epochs: 3, grad_clip: 0 } }) as CreateRunRequest__Output;
    assert.equal(req.hyperparameters?.weight_decay, undefined, "unset on the wire");
    const h = createRunFromWire(req).hyper;
    assert.deepEqual(h, { ...hyperDefaults(FAMILY, 1), epochs: 3, gradClip: 0 });
    assert.equal(h.textLr, 3e-4 * 0.5, "the text lr is the family's ratio of its lr");
  });

  it("wire - replay_ratio, max_steps and input_size a run leaves unset stay unset, in the domain and on the wire to the site", () => {
    const h = createRunFromWire(request({ hyperparameters: { epochs: 2 } as CreateRunRequest__Output["hyperparameters"] })).hyper;
    for (const key of ["replayRatio", "maxSteps", "inputSize"] as const) assert.ok(!(key in h) || h[key] === undefined, `${key} unset, got ${h[key]}`);
    assert.ok(!/replayRatio|maxSteps|inputSize/.test(JSON.stringify(h)), "run.json's hyperparameters list none of them");
    const task = roundTrip("Hyperparameters", hyperToWire(h)) as Record<string, unknown>;
    assert.deepEqual([task.replay_ratio, task.max_steps, task.input_size], [undefined, undefined, undefined]);
    // A client from before `optional` sent 0 for "unset"; it reads as unset too. A set value is kept.
    assert.equal(hyperFromWire({ max_steps: 0, input_size: 0 } as Parameters<typeof hyperFromWireWith>[0], 1).maxSteps, undefined);
    assert.equal(hyperFromWire({ max_steps: 8, input_size: 256 } as Parameters<typeof hyperFromWireWith>[0], 1).maxSteps, 8);
  });

  it("wire - a bad request is refused naming the field", () => {
    const cases: [Partial<CreateRunRequest__Output>, string][] = [
      [{ name: "no spaces allowed" }, "name"],
      [{ sites: [] }, "sites"],
      [{ sites: ["a", "a"] }, "sites"],
      [{ hyperparameters: { epochs: 0 } }, "hyperparameters.epochs"],
      [{ hyperparameters: { batch_size: 1000 } }, "hyperparameters.batch_size"],
      [{ hyperparameters: { weight_decay: -1 } }, "hyperparameters.weight_decay"],
      [{ legacy_dropout_policy: "retry" }, "dropout_policy"],
      [{ options: { delta_encoding: "fp16" } }, "options.delta_encoding"],
    ];
    for (const [over, field] of cases) {
      assert.throws(
        () => createRunFromWire(request(over)),
        (err: unknown) => err instanceof InvalidRunError && (err.details as { field?: string }).field === field && (err as Error).message.includes(field),
        `${JSON.stringify(over)} names ${field}`,
      );
    }
  });

  it("wire - run settings: the enum wins, a client built before it sends the string, unset is the default", () => {
    assert.equal(createRunFromWire(request({ delta_encoding: "DELTA_ENCODING_INT8" })).deltaEncoding, "int8");
    assert.equal(createRunFromWire(request()).deltaEncoding, "fp32");
    assert.equal(createRunFromWire(request({ dropout_policy: "DROPOUT_POLICY_FAIL", legacy_dropout_policy: "skip" })).dropoutPolicy, "fail");
    assert.equal(createRunFromWire(request({ legacy_dropout_policy: "fail" })).dropoutPolicy, "fail");
    assert.equal(createRunFromWire(request()).dropoutPolicy, "skip");
    assert.equal(createRunFromWire(request({ seed: 9 })).hyper.seed, 9, "the hyper seed falls back to the run's");
    assert.equal(hyperFromWire({ seed: 4 }, 9).seed, 4);
  });

  it("wire - a task outcome is the TaskOutcome field; a note prefix is read only from agents that send no outcome", () => {
    assert.deepEqual(taskOutcomeFromWire({ outcome: { kind: "TASK_OUTCOME_KIND_REFUSED", reason: "budget" }, notes: [] }), { kind: "refused", reason: "budget" });
    assert.deepEqual(taskOutcomeFromWire({ outcome: { kind: "TASK_OUTCOME_KIND_OK", reason: "" }, notes: ["failed: ignored"] }), { kind: "ok", reason: "" });
    assert.deepEqual(taskOutcomeFromWire({ outcome: null, notes: ["failed: out of memory"] }), { kind: "failed", reason: "out of memory" });
    assert.equal(taskOutcomeFromWire({ outcome: null, notes: ["exemplars held back"] }), null);
  });

  it("wire - an upload's encoding: the enum, else the old string, else fp32; an unknown string is refused", () => {
    const header = { site_id: "s", task_id: "t", base_version: "b", sha256: "x", size: 1, manifest: null, num_samples: 1, metrics: [], masked: false };
    assert.equal(updateEncodingFromWire({ ...header, encoding: "DELTA_ENCODING_FP16", legacy_encoding: "" }), "fp16");
    assert.equal(updateEncodingFromWire({ ...header, encoding: "DELTA_ENCODING_UNSPECIFIED", legacy_encoding: "topk" }), "topk");
    assert.equal(updateEncodingFromWire({ ...header, encoding: "DELTA_ENCODING_UNSPECIFIED", legacy_encoding: "" }), "fp32");
    assert.throws(() => updateEncodingFromWire({ ...header, encoding: "DELTA_ENCODING_UNSPECIFIED", legacy_encoding: "fp8" }), /encoding "fp8"/);
  });
});
