// `medfcl runs create` as a process against an in-process coordinator over real gRPC, with one
// agent (runAgent) whose light SiteWork records the TrainTask it receives and uploads a real
// encoded delta of the base checkpoint in the encoding the task asks for.
import { strict as assert } from "node:assert";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { TrainTask__Output } from "../../generated/medfcl/v1/TrainTask.js";
import { agentSchema } from "../../services/config/index.js";
import { silentLogger } from "../../services/log/index.js";
import { encodeDelta, parseCheckpoint } from "../../services/model/index.js";
import { createAdminClient, deltaEncodingWire, trainTaskNames } from "../../services/transport/index.js";
import type { RunningCoordinator } from "../../coordinator/index.js";
import * as store from "../../coordinator/store/index.js";
import { runAgent } from "../../site-agent/agent.js";
import { constantDelta, startTestCoordinator, testManifest } from "../helpers/federation.js";
import { runCli } from "../helpers/processes.js";

const SITE = "site-c";
const DTYPE = { fp32: "F32", fp16: "F16", int8: "I8", topk: "F32" } as const;

describe("runs create", () => {
  let coord: RunningCoordinator;
  const received: TrainTask__Output[] = [];
  const abort = new AbortController();
  let agent: Promise<unknown>;

  before(async () => {
    // A longer heartbeat window than the default test one: encoding a delta blocks the loop for a while on a loaded machine.
    coord = await startTestCoordinator({ evalSets: { [`dom-${SITE}`]: "/unused" }, heartbeatIntervalMs: 500, heartbeatMisses: 20 });
    const config = agentSchema.parse({ siteId: SITE, coordinator: coord.address, insecure: true, stateDir: mkdtempSync(join(tmpdir(), "medfcl-runs-create-")) });
    agent = runAgent({
      config,
      logger: silentLogger(),
      signal: abort.signal,
      maxTasks: 0,
      work: {
        manifest: () => testManifest(`dom-${SITE}`),
        checkTask: () => undefined,
        async train(task, base) {
          received.push(task);
          // What site-work.ts does: the encoding is the task's, read through the same mapping.
          const encoding = deltaEncodingWire.parseName(trainTaskNames(task).deltaEncoding);
          if (!encoding) throw new Error(`task ${task.task_id} names no known delta encoding`);
          const delta = constantDelta(base, 1e-3);
          return {
            delta: encodeDelta(delta, encoding, {}),
            manifest: [...parseCheckpoint(base).tensors].map(([name, t]) => ({ name, dtype: DTYPE[encoding], shape: t.shape })),
            encoding,
            numSamples: 5,
            metrics: [],
          };
        },
        offerExemplars: () => Promise.resolve([]),
      },
    });
    const admin = createAdminClient(coord.address, { insecure: true });
    try {
      // The agent registers as it starts; wait for it so `runs create` finds the site.
      for (let i = 0; i < 100 && !store.getSite(coord.ctx.db, SITE); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(store.getSite(coord.ctx.db, SITE), "the agent registered");
    } finally {
      admin.close();
    }
  });

  after(async () => {
    abort.abort();
    await agent;
    await coord?.close();
  });

  async function createAndWait(args: string[]): Promise<{ runId: string; task: TrainTask__Output }> {
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
    return { runId, task: received[received.length - 1] };
  }

  it("runs create - without hyper-parameter flags the site trains with the documented defaults (weight decay 0.05, two frozen stages, clip 1)", async () => {
    const { task } = await createAndWait(["--name", "defaults"]);
    const h = task.hyperparameters!;
    assert.equal(h.weight_decay, 0.05);
    assert.equal(h.freeze_stages, 2);
    assert.equal(h.grad_clip, 1);
    assert.equal(h.text_lr, 1e-5);
    // The flags the CLI does send keep their values.
    assert.equal(h.epochs, 1);
    assert.equal(h.lr, 1e-4);
    assert.equal(h.batch_size, 4);
  });

  it("runs create - an explicit 0 is kept, not replaced by the default (grad clip off, nothing frozen)", async () => {
    const { task } = await createAndWait(["--name", "zeros", "--grad-clip", "0", "--freeze-stages", "0", "--weight-decay", "0"]);
    const h = task.hyperparameters!;
    assert.deepEqual([h.grad_clip, h.freeze_stages, h.weight_decay], [0, 0, 0]);
  });

  it("runs create - --delta-encoding fp16 makes the site upload fp16 deltas, and the coordinator stores them as fp16", async () => {
    const { runId, task } = await createAndWait(["--name", "half", "--delta-encoding", "fp16"]);
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
