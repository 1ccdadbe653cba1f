import { strict as assert } from "node:assert";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { agentSchema } from "../../services/config/index.js";
import { loadEpsilonLedger, privatizeDelta } from "../../services/privacy/index.js";
import type { TensorMap } from "../../services/model/index.js";
import type { TrainTask__Output } from "../../generated/medfcl/v1/TrainTask.js";
import { withDifferentialPrivacy } from "../../site-agent/dp.js";
import { TaskRefusedError } from "../../site-agent/errors.js";
import type { LocalTrainer, TrainedUpdate } from "../../site-agent/trainer.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("medfcl-dp-wrapper-");
const task = (id: string) => ({ task_id: id, step: 0, round: 0, hyperparameters: { seed: 1 } }) as unknown as TrainTask__Output;

/** A trainer whose update is a fixed delta of norm 5 (3-4-5), so clipping is visible. */
function fixedTrainer(calls: string[]): LocalTrainer {
  return {
    checkTask: (t) => void calls.push(`check ${t.task_id}`),
    trainedModel: () => null,
    train: (t): Promise<TrainedUpdate> => {
      calls.push(`train ${t.task_id}`);
      const delta: TensorMap = new Map([["w", { dtype: "float32", shape: [2], data: Float32Array.from([3, 4]) }]]);
      return Promise.resolve({ delta, seed: 9, numSamples: 7, metrics: [{ name: "loss_last", value: 1, step: 1 }] });
    },
  };
}

describe("site agent - differential privacy as a trainer wrapper", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("dp - the update is privatized with the trainer's seed, its spend recorded, the inner result otherwise kept", async () => {
    const stateDir = join(dir, "a");
    const dp = agentSchema.parse({ privacy: { dp: { enabled: true, clipNorm: 1, noiseMultiplier: 1.1, epsilonBudget: 1000 } } }).privacy.dp;
    const calls: string[] = [];
    const inner = fixedTrainer(calls);
    const plain = await inner.train(task("t0"), Buffer.alloc(0), [], () => {}, new AbortController().signal);
    const wrapped = withDifferentialPrivacy(inner, dp, { siteId: "s", stateDir });
    const u = await wrapped.train(task("t1"), Buffer.alloc(0), [], () => {}, new AbortController().signal);
    const expected = privatizeDelta(plain.delta, { clipNorm: 1, noiseMultiplier: 1.1, seed: 9 }).delta.get("w")!.data;
    assert.deepEqual(u.delta.get("w")!.data, expected, "clip to 1 and noise seeded by the training seed");
    assert.notDeepEqual(u.delta.get("w")!.data, plain.delta.get("w")!.data);
    assert.deepEqual([u.numSamples, u.seed], [7, 9]);
    assert.deepEqual(u.metrics.map((m) => m.name), ["loss_last", "dp_epsilon", "dp_update_norm"]);
    assert.equal(u.metrics.at(-1)!.value, 5, "the norm before clipping");
    const ledger = loadEpsilonLedger(stateDir, "s", dp.delta);
    assert.ok(ledger.epsilon > 0);
    assert.equal(u.metrics.find((m) => m.name === "dp_epsilon")!.value, ledger.epsilon);
  });

  it("dp - a task the budget cannot pay for is refused before the inner trainer sees it", () => {
    const calls: string[] = [];
    const dp = agentSchema.parse({ privacy: { dp: { enabled: true, noiseMultiplier: 0.5, epsilonBudget: 0.01 } } }).privacy.dp;
    const wrapped = withDifferentialPrivacy(fixedTrainer(calls), dp, { siteId: "s", stateDir: join(dir, "b") });
    assert.throws(() => wrapped.checkTask(task("t2")), (err: unknown) => err instanceof TaskRefusedError && /budget/.test(err.message));
    assert.deepEqual(calls, []);
    const roomy = withDifferentialPrivacy(fixedTrainer(calls), { ...dp, epsilonBudget: 1e6 }, { siteId: "s", stateDir: join(dir, "b") });
    roomy.checkTask(task("t3"));
    assert.deepEqual(calls, ["check t3"], "within budget the inner check still runs");
  });
});
