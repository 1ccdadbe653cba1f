import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { agentSchema } from "../../services/config/index.js";
import { silentLogger } from "../../services/log/index.js";
import { createAdminClient } from "../../services/transport/index.js";
import { runAgent } from "../../site-agent/agent.js";
import { agentDiskUsage, pruneAgentState } from "../../site-agent/retention.js";
import { listSpool, pruneSpool, writeSpool } from "../../site-agent/spool.js";
import type { SiteWork } from "../../site-agent/types.js";
import * as store from "../../coordinator/store/index.js";
import { constantDelta, encodedDelta, manifestOf, startTestCoordinator, testManifest } from "../helpers/federation.js";
import { tempDir as sharedTempDir } from "../helpers/temp.js";

const tempDir = (): string => sharedTempDir("medfcl-retention-");
const sha = (b: Buffer | string): string => createHash("sha256").update(b).digest("hex");

function model(stateDir: string, version: string, ageS: number, bytes = 1000): void {
  const path = join(stateDir, "models", `${version}.safetensors`);
  mkdirSync(join(stateDir, "models"), { recursive: true });
  writeFileSync(path, Buffer.alloc(bytes));
  const t = new Date(Date.now() - ageS * 1000);
  utimesSync(path, t, t);
}

const fakeWork = (site: string, trained: string[]): SiteWork => ({
  manifest: () => testManifest(`dom-${site}`),
  checkTask: () => undefined,
  async train(task, base) {
    trained.push(task.task_id);
    const delta = constantDelta(base, 1e-4);
    return { delta: encodedDelta(delta), manifest: manifestOf(delta), encoding: "fp32", numSamples: 4, metrics: [] };
  },
  offerExemplars: () => Promise.resolve([]),
});

describe("site-agent - retention", () => {
  it("site-agent - prune keeps the models of open tasks and the N most recently used, and drops stale partial downloads and replay sets", () => {
    const dir = tempDir();
    for (const [v, age] of [["a", 50], ["b", 40], ["c", 30], ["d", 20], ["e", 10]] as const) model(dir, v.repeat(64), age);
    writeFileSync(join(dir, "models", `${"f".repeat(64)}.safetensors.part`), "half");
    writeFileSync(join(dir, "models", `${"a".repeat(64)}.safetensors.part`), "half");
    mkdirSync(join(dir, "replay", "task-old", "images"), { recursive: true });
    writeFileSync(join(dir, "replay", "task-old", "images", "x.png"), "png");
    mkdirSync(join(dir, "replay", "task-open"), { recursive: true });

    const r = pruneAgentState(dir, { keepModels: 2, openVersions: new Set(["a".repeat(64)]), openTasks: new Set(["task-open"]) });
    assert.deepEqual(readdirSync(join(dir, "models")).sort(), [`${"a".repeat(64)}.safetensors`, `${"a".repeat(64)}.safetensors.part`, `${"d".repeat(64)}.safetensors`, `${"e".repeat(64)}.safetensors`]);
    assert.deepEqual(readdirSync(join(dir, "replay")), ["task-open"]);
    assert.equal(r.removed.length, 4, "b, c, f.part and task-old");
    assert.equal(r.bytesFreed, 2000 + 4 + 3);
    assert.equal(agentDiskUsage(dir).modelsCount, 3);
  });

  it("site-agent - pruneSpool removes every entry but the kept ones, and deltas left without a header", () => {
    const dir = tempDir();
    for (const t of ["t1", "t2"]) {
      const delta = Buffer.from(`delta ${t}`);
      writeSpool(dir, { site_id: "s", task_id: t, base_version: "b".repeat(64), sha256: sha(delta), size: delta.length }, delta);
    }
    writeFileSync(join(dir, "spool", "t3.safetensors"), "no header: a crash between the two writes");
    assert.deepEqual(pruneSpool(dir, new Set(["t2"])), ["t1"]);
    assert.deepEqual(listSpool(dir).map((e) => e.taskId), ["t2"]);
    assert.deepEqual(readdirSync(join(dir, "spool")).sort(), ["t2.json", "t2.safetensors"]);
  });

  it("site-agent - over many tasks the agent keeps at most keepModels models, drops the spool of a task that is gone, and reports its disk use", { timeout: 120_000 }, async () => {
    const coord = await startTestCoordinator({ heartbeatMisses: 1000, evalSets: { "dom-s": "/unused" } });
    const stateDir = tempDir();
    // A spooled update of a task the coordinator does not have open (it ended while the agent was down).
    const stale = Buffer.from("stale delta");
    writeSpool(stateDir, { site_id: "s", task_id: "gone-task", base_version: "c".repeat(64), sha256: sha(stale), size: stale.length }, stale);
    const admin = createAdminClient(coord.address, { insecure: true });
    const abort = new AbortController();
    const trained: string[] = [];
    const config = agentSchema.parse({ siteId: "s", coordinator: coord.address, insecure: true, stateDir, keepModels: 2 });
    const agent = runAgent({ config, logger: silentLogger(), work: fakeWork("s", trained), signal: abort.signal, pollWaitMs: 300 });
    try {
      const until = async (ok: () => boolean): Promise<void> => {
        for (const end = Date.now() + 60_000; !ok(); await new Promise((r) => setTimeout(r, 50))) if (Date.now() > end) throw new Error("timed out");
      };
      await until(() => listSpool(stateDir).length === 0);
      // Eight rounds of FedAvg over one site: every task starts from a new model version.
      const run = await admin.createRun({ model: "nano", name: "retention", strategy: "joint", sites: ["s"], seed: 2, options: { rounds: "8" } });
      assert.equal((await admin.waitForRun(run.run_id, { pollMs: 100, timeoutMs: 90_000 })).state, "completed");
      await until(() => trained.length === 8 && agentDiskUsage(stateDir).modelsCount <= 2);
      const usage = agentDiskUsage(stateDir);
      assert.equal(usage.modelsCount, 2, "8 base models downloaded, 2 kept");
      assert.equal(usage.spoolBytes, 0, "the spool is empty: every update reached the coordinator");
      assert.equal(existsSync(join(stateDir, "spool", "gone-task.json")), false);
      const reported = store.metricsForRun(coord.ctx.db, run.run_id).filter((m) => m.name === "agent_models_count").map((m) => m.value);
      assert.equal(reported.length, 8, "each task reports the agent's disk use");
      assert.ok(Math.max(...reported) <= 3, `models held while a task ran: ${reported.join(", ")}`);
    } finally {
      abort.abort();
      await agent;
      admin.close();
      await coord.close();
    }
  });
});
