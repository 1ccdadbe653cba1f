// `medfcl runs create` as a process against an in-process coordinator over real gRPC, with one
// agent (runAgent) whose light SiteWork records the TrainTask it receives and uploads a real
// encoded delta of the base checkpoint in the encoding the task asks for.
import { strict as assert } from "node:assert";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import type { TrainTask__Output } from "../../generated/medfcl/v1/TrainTask.js";
import { agentSchema } from "../../services/config/index.js";
import { silentLogger } from "../../services/log/index.js";
import { DEFAULT_MODEL_FAMILY, encodeDelta, modelFamily, parseCheckpoint } from "../../services/model/index.js";
import { createAdminClient, deltaEncodingWire, trainTaskNames } from "../../services/transport/index.js";
import type { RunningCoordinator } from "../../coordinator/index.js";
import * as store from "../../coordinator/store/index.js";
import { runAgent } from "../../site-agent/agent.js";
import { constantDelta, protocolModelOps, startTestCoordinator, testManifest } from "../helpers/federation.js";
import { haveShared, YOLOX_NANO_ONNX } from "../helpers/shared.js";
import { runCli } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp.js";

const SITE = "site-c";
const DTYPE = { fp32: "F32", fp16: "F16", int8: "I8", topk: "F32" } as const;

/** A site on `coord` whose light SiteWork records each TrainTask and the model family of its base. */
async function startSite(coord: RunningCoordinator, received: Received[], signal: AbortSignal): Promise<{ agent: Promise<unknown> }> {
  const config = agentSchema.parse({ siteId: SITE, coordinator: coord.address, insecure: true, stateDir: tempDir("medfcl-runs-create-") });
  const agent = runAgent({
    config,
    logger: silentLogger(),
    signal,
    maxTasks: 0,
    work: {
      manifest: () => testManifest(`dom-${SITE}`),
      checkTask: () => undefined,
      async train(task, base) {
        const { config: modelCfg, tensors } = parseCheckpoint(base);
        received.push({ task, model: modelCfg.size, inputSize: modelCfg.inputSize });
        // What site-work.ts does: the encoding is the task's, read through the same mapping.
        const encoding = deltaEncodingWire.parseName(trainTaskNames(task).deltaEncoding);
        if (!encoding) throw new Error(`task ${task.task_id} names no known delta encoding`);
        const delta = constantDelta(base, 1e-3);
        return {
          delta: encodeDelta(delta, encoding, {}),
          manifest: [...tensors].map(([name, t]) => ({ name, dtype: DTYPE[encoding], shape: t.shape })),
          encoding,
          numSamples: 5,
          metrics: [],
        };
      },
      offerExemplars: () => Promise.resolve([]),
    },
  });
  // The agent registers as it starts; wait for it so `runs create` finds the site.
  for (let i = 0; i < 100 && !store.getSite(coord.ctx.db, SITE); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(store.getSite(coord.ctx.db, SITE), "the agent registered");
  return { agent };
}

interface Received {
  task: TrainTask__Output;
  /** The model family of the base checkpoint the task starts from. */
  model: string;
  inputSize: number;
}

describe("runs create", () => {
  let coord: RunningCoordinator;
  const received: Received[] = [];
  const abort = new AbortController();
  let agent: Promise<unknown>;
  // The registry's default is a pretrained family: this coordinator has its weights (the shared
  // folder's, verified as `medfcl model fetch` would); the tests about other things run `--model nano`.
  const weights = YOLOX_NANO_ONNX();

  before(async () => {
    // A longer heartbeat window than the default test one: encoding a delta blocks the loop for a while on a loaded machine.
    coord = await startTestCoordinator({ evalSets: { [`dom-${SITE}`]: "/unused" }, heartbeatIntervalMs: 500, heartbeatMisses: 20 }, protocolModelOps(existsSync(weights) ? { baseWeights: weights } : {}));
    ({ agent } = await startSite(coord, received, abort.signal));
  });

  after(async () => {
    abort.abort();
    await agent;
    await coord?.close();
  });

  async function createAndWait(args: string[]): Promise<{ runId: string } & Received> {
    const before = received.length;
    const r = await runCli(["runs", "create", "--coordinator", coord.address, "--insecure", "--site", SITE, "--strategy", "sequential", ...args]);
    assert.equal(r.code, 0, r.stderr);
    const runId = r.stdout.trim().split(/\s+/)[0];
    const admin = createAdminClient(coord.address, { insecure: true });
    try {
      const done = await admin.waitForRun(runId, { pollMs: 100, timeoutMs: 60_000 });
      assert.equal(done.state, "completed", done.error);
    } finally {
      admin.close();
    }
    assert.equal(received.length, before + 1, "the site received one task");
    return { runId, ...received[received.length - 1] };
  }

  describe("without --model", () => {
    if (!haveShared("runs create default model", [weights])) return;
    it("runs create - without --model or hyper-parameter flags the site trains the registry's default, pretrained yolox-nano, with its training defaults", async () => {
      const { runId, task, model, inputSize } = await createAndWait(["--name", "defaults"]);
      assert.equal(DEFAULT_MODEL_FAMILY, "yolox-nano");
      assert.equal(model, "yolox-nano", "the base checkpoint the site starts from is the imported yolox-nano");
      assert.equal(inputSize, 256);
      assert.equal(store.getRun(coord.ctx.db, runId)?.model, "yolox-nano", "the run records its model");
      const t = modelFamily("yolox-nano").training;
      const h = task.hyperparameters!;
      assert.deepEqual(
        { lr: h.lr, text_lr: h.text_lr, weight_decay: h.weight_decay, batch_size: h.batch_size, epochs: h.epochs, freeze_stages: h.freeze_stages, grad_clip: h.grad_clip },
        { lr: t.lr, text_lr: t.lr * t.textLrRatio, weight_decay: t.weightDecay, batch_size: t.batchSize, epochs: t.epochs, freeze_stages: t.freezeStages, grad_clip: t.gradClip },
      );
      // The registry's values for a pretrained base are the measured ones (docs/model.md, docs/results.md §H).
      assert.deepEqual([h.lr, h.text_lr, h.batch_size, h.epochs, h.freeze_stages, h.grad_clip, h.weight_decay], [1e-4, 1e-4, 4, 16, 2, 1, 0.05]);
    });
  });

  it("runs create - --model nano: the from-scratch family's defaults, not the pretrained base's", async () => {
    const { task, model } = await createAndWait(["--name", "scratch", "--model", "nano", "--epochs", "1"]);
    assert.equal(model, "nano");
    const h = task.hyperparameters!;
    assert.deepEqual([h.lr, h.text_lr, h.batch_size, h.freeze_stages, h.grad_clip, h.epochs], [2e-3, 2e-3 * 0.1, 8, 0, 5, 1]);
  });

  it("runs create - --base-version without --model trains the stored version's family with its defaults; naming another family is refused", async () => {
    const { runId } = await createAndWait(["--name", "scratch-base", "--model", "nano", "--epochs", "1"]);
    const version = store.getRun(coord.ctx.db, runId)!.currentVersion;
    assert.ok(version, "the run produced a version");
    const { task, model } = await createAndWait(["--name", "from-version", "--base-version", version]);
    assert.equal(model, "nano");
    assert.deepEqual([task.hyperparameters!.lr, task.hyperparameters!.epochs], [2e-3, 3], "nano's defaults, not the registry default's");
    const r = await runCli(["runs", "create", "--coordinator", coord.address, "--insecure", "--site", SITE, "--strategy", "sequential", "--name", "mismatch", "--base-version", version, "--model", "yolox-nano"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /model "yolox-nano" does not match base_version .* a nano checkpoint/);
  });

  it("runs create - an explicit 0 is kept, not replaced by the default (grad clip off, nothing frozen)", async () => {
    const { task } = await createAndWait(["--name", "zeros", "--model", "nano", "--grad-clip", "0", "--freeze-stages", "0", "--weight-decay", "0"]);
    const h = task.hyperparameters!;
    assert.deepEqual([h.grad_clip, h.freeze_stages, h.weight_decay], [0, 0, 0]);
  });

  it("runs create - --delta-encoding fp16 makes the site upload fp16 deltas, and the coordinator stores them as fp16", async () => {
    const { runId, task } = await createAndWait(["--name", "half", "--model", "nano", "--delta-encoding", "fp16"]);
    assert.equal(task.delta_encoding, "DELTA_ENCODING_FP16");
    assert.equal(task.legacy_delta_encoding, "fp16", "agents built before the enum read the string field");
    const updates = store.updatesForRun(coord.ctx.db, runId);
    assert.equal(updates.length, 1, JSON.stringify(store.tasksOfRun(coord.ctx.db, runId).map((t) => [t.state, t.reason])));
    assert.equal(updates[0].accepted, true, updates[0].reason ?? "");
    assert.equal(updates[0].encoding, "fp16");
    // The stored bytes are an fp16 safetensors file: every tensor's dtype in its header is F16.
    const bytes = coord.ctx.blobs.get(updates[0].updateId);
    const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString("utf8")) as Record<string, { dtype?: string }>;
    const dtypes = new Set(Object.entries(header).filter(([k]) => k !== "__metadata__").map(([, v]) => v.dtype));
    assert.deepEqual([...dtypes], ["F16"]);
    const admin = createAdminClient(coord.address, { insecure: true });
    try {
      assert.equal((await admin.getRun(runId)).delta_encoding, "DELTA_ENCODING_FP16");
    } finally {
      admin.close();
    }
  });

  it("runs create - delta_encoding as a strategy option is refused, naming the run setting to use", async () => {
    const r = await runCli(["runs", "create", "--coordinator", coord.address, "--insecure", "--site", SITE, "--strategy", "sequential", "--name", "opt", "--option", "delta_encoding=fp16"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^medfcl: error: options\.delta_encoding: delta_encoding is a run setting, not a strategy option.*--delta-encoding/m);
  });

  // Each case is a CLI process (seconds each on a loaded machine): one per kind of check.
  for (const [flag, value] of [
    ["--epochs", "abc"],
    ["--epochs", "0"],
    ["--lr", "0"],
    ["--grad-clip", "-1"],
    ["--delta-encoding", "fp8"],
  ]) {
    it(`runs create - ${flag} "${value}" exits 2 naming the flag, before any run is made`, async () => {
      const runs = store.listRuns(coord.ctx.db, { limit: 1000, offset: 0 }).length;
      const r = await runCli(["runs", "create", "--coordinator", coord.address, "--insecure", "--site", SITE, "--strategy", "sequential", "--name", "bad-flag", flag, value]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`^medfcl: error: ${flag} `, "m"));
      assert.equal(store.listRuns(coord.ctx.db, { limit: 1000, offset: 0 }).length, runs, "no run was created");
    });
  }
});

describe("runs create on a coordinator without the default model's weights", () => {
  let coord: RunningCoordinator;
  const received: Received[] = [];
  const abort = new AbortController();
  let agent: Promise<unknown>;

  before(async () => {
    // No --base-weights, no $MEDFCL_BASE_WEIGHTS, an empty cache: `medfcl model fetch` never ran here.
    const env = { MEDFCL_CACHE: tempDir("medfcl-empty-cache-") };
    coord = await startTestCoordinator({ evalSets: { [`dom-${SITE}`]: "/unused" }, heartbeatIntervalMs: 500, heartbeatMisses: 20 }, protocolModelOps({ env }));
    ({ agent } = await startSite(coord, received, abort.signal));
  });

  after(async () => {
    abort.abort();
    await agent;
    await coord?.close();
  });

  it("runs create - without --model is refused with FAILED_PRECONDITION naming `medfcl model fetch yolox-nano`; no run is made and no other model trains instead", async () => {
    const r = await runCli(["runs", "create", "--coordinator", coord.address, "--insecure", "--site", SITE, "--strategy", "sequential", "--name", "no-weights"]);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /medfcl model fetch yolox-nano/);
    assert.equal(store.listRuns(coord.ctx.db, { limit: 1000, offset: 0 }).length, 0, "no run was created");
    const admin = createAdminClient(coord.address, { insecure: true });
    try {
      await assert.rejects(
        admin.createRun({ name: "no-weights-grpc", strategy: "sequential", sites: [SITE] }),
        (err: Error & { code?: number }) => err.code === status.FAILED_PRECONDITION && /medfcl model fetch yolox-nano/.test(err.message),
      );
    } finally {
      admin.close();
    }
    assert.equal(received.length, 0, "the site received no task");
  });
});
