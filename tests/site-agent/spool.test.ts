import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { agentSchema } from "../../services/config/index.js";
import { silentLogger } from "../../services/log/index.js";
import { createAdminClient } from "../../services/transport/index.js";
import { runAgent } from "../../site-agent/agent.js";
import type { SiteWork } from "../../site-agent/types.js";
import { constantDelta, encodedDelta, manifestOf, testManifest } from "../helpers/federation.js";
import { startCoordinatorProcess, type CoordinatorProcess } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp.js";

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

const until = async (what: string, ok: () => boolean, timeoutMs = 30_000): Promise<void> => {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/**
 * A site whose training is real work to lose: it counts how often it trains, and the first time it
 * finishes it calls `onTrained` (which kills the coordinator), so the upload meets a dead server.
 */
function countingWork(siteId: string, onTrained: () => Promise<void>): { work: SiteWork; trainings: () => number; shas: string[] } {
  let trainings = 0;
  const shas: string[] = [];
  const work: SiteWork = {
    manifest: () => testManifest(`dom-${siteId}`),
    checkTask: () => undefined,
    async train(_task, base) {
      trainings++;
      const delta = constantDelta(base, 1e-3 * trainings);
      const bytes = encodedDelta(delta);
      shas.push(createHash("sha256").update(bytes).digest("hex"));
      if (trainings === 1) await onTrained();
      return { delta: bytes, manifest: manifestOf(delta), encoding: "fp32", numSamples: 7, metrics: [{ name: "loss_last", value: 0.5, step: 1 }] };
    },
    offerExemplars: () => Promise.resolve([]),
  };
  return { work, trainings: () => trainings, shas };
}

function acceptedUpdates(stateDir: string): { update_id: string; accepted: number }[] {
  const d = new Database(join(stateDir, "coordinator.sqlite"), { readonly: true });
  try {
    return d.prepare("SELECT update_id, accepted FROM updates").all() as { update_id: string; accepted: number }[];
  } finally {
    d.close();
  }
}

/** Polls the run until it ends; a coordinator that is still coming back answers UNAVAILABLE meanwhile. */
async function waitForRun(address: string, runId: string): Promise<string> {
  const admin = createAdminClient(address, { insecure: true });
  try {
    const end = Date.now() + 60_000;
    for (;;) {
      const state = await admin.getRun(runId).then((r) => r.state, () => "unreachable");
      if (["completed", "failed", "cancelled"].includes(state) || Date.now() > end) return state;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    admin.close();
  }
}

async function runOneStep(stateDir: string, address: string, siteId: string): Promise<string> {
  const admin = createAdminClient(address, { insecure: true });
  try {
    for (;;) {
      const id = await admin.createRun({ model: "nano", name: `spool-${siteId}`, strategy: "sequential", sites: [siteId], seed: 1 }).then((r) => r.run_id, () => "");
      if (id) return id;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    admin.close();
  }
}

describe("site agent - finished work survives a failed upload", () => {
  it("agent - an upload cut by a coordinator restart is retried, and the same update reaches the coordinator without retraining", async () => {
    const stateDir = tempDir("medfcl-spool-coord-");
    const listen = `127.0.0.1:${await freePort()}`;
    let coord: CoordinatorProcess = await startCoordinatorProcess(stateDir, { listen });
    const site = countingWork("site-s", async () => {
      await coord.stop("SIGKILL");
    });
    const agentDir = tempDir("medfcl-spool-agent-");
    const config = agentSchema.parse({ siteId: "site-s", coordinator: listen, insecure: true, stateDir: agentDir });
    const abort = new AbortController();
    const agent = runAgent({ config, logger: silentLogger(), work: site.work, signal: abort.signal, maxTasks: 1 });
    const runId = await runOneStep(stateDir, coord.address, "site-s");
    try {
      // Training ends, the coordinator is dead: the finished delta is on disk while the agent retries.
      await until("the spooled delta", () => site.trainings() === 1 && existsSync(join(agentDir, "spool")) && readdirSync(join(agentDir, "spool")).some((f) => f.endsWith(".safetensors")));
      await new Promise((r) => setTimeout(r, 1000));
      coord = await startCoordinatorProcess(stateDir, { listen });
      assert.equal(await waitForRun(coord.address, runId), "completed");
      await agent;
      assert.equal(site.trainings(), 1, "no retraining");
      assert.deepEqual(acceptedUpdates(stateDir), [{ update_id: site.shas[0], accepted: 1 }], "the delta trained before the restart is the one aggregated");
      assert.deepEqual(readdirSync(join(agentDir, "spool")), [], "the spool is emptied once the coordinator has the update");
    } finally {
      abort.abort();
      await agent.catch(() => undefined);
      await coord.stop();
    }
  });

  it("agent - an agent stopped with a finished delta uploads it from the spool after its restart, without training again", async () => {
    const stateDir = tempDir("medfcl-spool-coord-");
    const listen = `127.0.0.1:${await freePort()}`;
    let coord: CoordinatorProcess = await startCoordinatorProcess(stateDir, { listen });
    const site = countingWork("site-r", async () => {
      await coord.stop("SIGKILL");
    });
    const agentDir = tempDir("medfcl-spool-agent-");
    const config = agentSchema.parse({ siteId: "site-r", coordinator: listen, insecure: true, stateDir: agentDir });
    const first = new AbortController();
    const agent1 = runAgent({ config, logger: silentLogger(), work: site.work, signal: first.signal, maxTasks: 1 });
    const runId = await runOneStep(stateDir, coord.address, "site-r");
    await until("the spooled delta", () => site.trainings() === 1 && existsSync(join(agentDir, "spool")) && readdirSync(join(agentDir, "spool")).length === 2);
    // The agent is stopped while it retries; the spool stays.
    first.abort();
    await agent1;
    assert.equal(readdirSync(join(agentDir, "spool")).length, 2);

    coord = await startCoordinatorProcess(stateDir, { listen });
    const second = new AbortController();
    const agent2 = runAgent({ config, logger: silentLogger(), work: site.work, signal: second.signal, maxTasks: 1 });
    try {
      assert.equal(await waitForRun(coord.address, runId), "completed");
      await agent2;
      assert.equal(site.trainings(), 1, "the restarted agent did not train again");
      assert.deepEqual(acceptedUpdates(stateDir), [{ update_id: site.shas[0], accepted: 1 }]);
    } finally {
      second.abort();
      await agent2.catch(() => undefined);
      await coord.stop();
    }
  });
});
