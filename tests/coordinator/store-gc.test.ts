import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { agentSchema } from "../../services/config/index.js";
import { silentLogger } from "../../services/log/index.js";
import { openBlobStore } from "../../services/store/index.js";
import { createAdminClient } from "../../services/transport/index.js";
import { runAgent } from "../../site-agent/agent.js";
import type { SiteWork } from "../../site-agent/types.js";
import { constantDelta, encodedDelta, manifestOf, startTestCoordinator, testManifest } from "../helpers/federation.js";
import { runCli } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp.js";

const work: SiteWork = {
  manifest: () => testManifest("dom-s"),
  checkTask: () => undefined,
  async train(task, base) {
    const delta = constantDelta(base, 1e-4 * (task.round + 1));
    return { delta: encodedDelta(delta), manifest: manifestOf(delta), encoding: "fp32", numSamples: 4, metrics: [] };
  },
  offerExemplars: () => Promise.resolve([]),
};

// Each CLI run starts tsx; on a loaded machine that alone takes tens of seconds.
const CLI_MS = 150_000;

describe("store - gc and verify", () => {
  it("store - gc lists (dry run) and deletes (--apply, coordinator stopped) only updates of ended runs and unreferenced blobs; verify finds orphan versions", { timeout: 600_000 }, async () => {
    const stateDir = tempDir("medfcl-gc-");
    const coord = await startTestCoordinator({ stateDir, heartbeatMisses: 1000, evalSets: { "dom-s": "/unused" } });
    const admin = createAdminClient(coord.address, { insecure: true });
    const abort = new AbortController();
    const agent = runAgent({ config: agentSchema.parse({ siteId: "s", coordinator: coord.address, insecure: true, stateDir: tempDir("medfcl-gc-agent-") }), logger: silentLogger(), work, signal: abort.signal, pollWaitMs: 300 });
    let versions: string[];
    try {
      const run = await admin.createRun({ model: "nano", name: "gc", strategy: "joint", sites: ["s"], seed: 5, options: { rounds: "2" } });
      assert.equal((await admin.waitForRun(run.run_id, { pollMs: 100, timeoutMs: 60_000 })).state, "completed");
      versions = (await admin.getAudit(run.run_id)).lineage.map((v) => v.version);
      assert.equal(versions.length, 3, "base and two rounds");
      const stray = coord.ctx.blobs.put(randomBytes(1000)); // a write whose row never committed

      const verify = await runCli(["store", "verify", stateDir], {}, CLI_MS);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      assert.match(verify.stdout, /6 blobs .* 0 corrupt, 0 missing, 0 orphan versions, 1 unreferenced blobs/);

      const dry = await runCli(["store", "gc", "--state-dir", stateDir], {}, CLI_MS);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /3 blobs \(.*\) would be deleted/);
      assert.match(dry.stdout, new RegExp(`would delete ${stray} unreferenced`));
      assert.equal(openBlobStore(join(stateDir, "blobs"), { inspectOnly: true }).list().length, 6, "a dry run deletes nothing");

      const locked = await runCli(["store", "gc", "--state-dir", stateDir, "--apply"], {}, CLI_MS);
      assert.equal(locked.code, 2, "refused beside a running coordinator");
      assert.match(locked.stderr, /in use by coordinator/);
    } finally {
      abort.abort();
      await agent;
      admin.close();
      await coord.close();
    }

    const applied = await runCli(["store", "gc", "--state-dir", stateDir, "--apply"], {}, CLI_MS);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /deleted 3 blobs/);
    assert.deepEqual(openBlobStore(join(stateDir, "blobs"), { inspectOnly: true }).list().sort(), [...versions].sort(), "every version of the lineage is kept, nothing else");
    const clean = await runCli(["store", "verify", stateDir], {}, CLI_MS);
    assert.equal(clean.code, 0, clean.stdout);
    assert.match(clean.stdout, /3 blobs .* 0 corrupt, 0 missing, 0 orphan versions, 0 unreferenced blobs/);

    // A version row nothing points to (what a retried aggregation used to leave) is reported.
    const db = new Database(join(stateDir, "coordinator.sqlite"));
    db.prepare("INSERT INTO versions (version, parent, run_id, strategy, step, sites_json, config_hash, size, created_at) SELECT ?, parent, run_id, strategy, step, sites_json, config_hash, size, created_at FROM versions WHERE version = ?").run("e".repeat(64), versions[1]);
    db.close();
    const orphan = await runCli(["store", "verify", stateDir], {}, CLI_MS);
    assert.equal(orphan.code, 1);
    assert.match(orphan.stdout, new RegExp(`ORPHAN version ${"e".repeat(64)}`));
    assert.match(orphan.stdout, new RegExp(`MISSING ${"e".repeat(64)} \\(model version\\)`));
  });
});
