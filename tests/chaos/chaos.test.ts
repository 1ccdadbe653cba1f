// Chaos suite: real coordinator and agent processes over real gRPC, killed with SIGKILL at the
// worst moments. One sequential run over three sites, one failure per step:
//   step 0: the coordinator is killed while site-a trains, and restarted;
//   step 1: the coordinator is killed while site-b's update is half uploaded, and restarted;
//   step 2: site-c's agent is killed while its update is half uploaded, and restarted.
// Uploads pass a TCP proxy that throttles client-to-server bytes so "half uploaded" is a real state.
// The run must complete with a full R matrix, every update the sites trained must be the one the
// coordinator aggregated (same sha256, trained once), and no task may be left open.
import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { createAdminClient } from "../../services/transport/index.js";
import type { Audit__Output } from "../../generated/medfcl/v1/Audit.js";
import { evalSet } from "../helpers/fault-rig.js";
import { startCoordinatorProcess, type CoordinatorProcess } from "../helpers/processes.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";
import { tempDir } from "../helpers/temp.js";

const repo = join(import.meta.dirname, "..", "..");
const SITES = ["site-a", "site-b", "site-c"];

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, timeoutMs = 90_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`chaos: timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface AgentProc {
  proc: ChildProcess;
  log: string;
  stderr: () => string;
}

function startAgent(site: string, coordinator: string, stateDir: string, log: string): AgentProc {
  const proc = spawn(process.execPath, ["--import", "tsx", join(repo, "tests", "helpers", "chaos-agent.ts")], {
    cwd: repo,
    env: { ...process.env, CHAOS_SITE: site, CHAOS_COORDINATOR: coordinator, CHAOS_STATE_DIR: stateDir, CHAOS_TRAIN_LOG: log, CHAOS_TRAIN_MS: "1500" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  return { proc, log, stderr: () => err };
}

const lines = (log: string): string[] => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : []);

describe("chaos - SIGKILL mid-training and mid-upload", () => {
  it("chaos - a run survives a coordinator killed mid-training and mid-upload and an agent killed mid-upload, with every trained update aggregated once", { timeout: 300_000 }, async () => {
    const started = Date.now();
    const root = tempDir("medfcl-chaos-");
    const stateDir = join(root, "coord");
    const evalArgs: string[] = [];
    for (const [i, s] of SITES.entries()) {
      await evalSet(join(root, "eval", s), i + 1);
      evalArgs.push("--eval-set", `dom-${s}=${join(root, "eval", s)}`);
    }
    const port = await freePort();
    const listen = `127.0.0.1:${port}`;
    const startCoord = (): Promise<CoordinatorProcess> => startCoordinatorProcess(stateDir, { listen, args: evalArgs, timeoutMs: 60_000 });
    let coord = await startCoord();
    // 150 KB/s upstream: the ~0.8 MB nano delta takes ~5 s to upload.
    const proxy = await startTcpProxy({ host: "127.0.0.1", port }, 150_000);
    const agents = new Map<string, AgentProc>();
    for (const s of SITES) agents.set(s, startAgent(s, proxy.address, join(root, s), join(root, `${s}.log`)));
    const admin = createAdminClient(listen, { insecure: true });
    const kills: string[] = [];
    try {
      let runId = "";
      while (!runId) {
        runId = await admin.createRun({ name: "chaos", strategy: "sequential", sites: SITES, seed: 7, model: "nano" }).then((r) => r.run_id, () => "");
        if (!runId) await sleep(250);
      }

      // Step 0: kill the coordinator while site-a trains.
      await until("site-a training", () => lines(agents.get("site-a")!.log).some((l) => l.startsWith("training")));
      await coord.stop("SIGKILL");
      kills.push("coordinator mid-training (step 0)");
      coord = await startCoord();

      // Step 1: kill the coordinator while site-b's update is half way through the proxy.
      await until("site-b trained", () => lines(agents.get("site-b")!.log).some((l) => l.startsWith("trained")));
      let up0 = proxy.bytesUp();
      await until("site-b upload under way", () => proxy.bytesUp() - up0 > 200_000);
      await coord.stop("SIGKILL");
      kills.push("coordinator mid-upload (step 1)");
      coord = await startCoord();

      // Step 2: kill site-c's agent half way through its upload, then start it again.
      await until("site-c trained", () => lines(agents.get("site-c")!.log).some((l) => l.startsWith("trained")));
      up0 = proxy.bytesUp();
      await until("site-c upload under way", () => proxy.bytesUp() - up0 > 200_000);
      agents.get("site-c")!.proc.kill("SIGKILL");
      kills.push("agent site-c mid-upload (step 2)");
      await new Promise((r) => agents.get("site-c")!.proc.once("exit", r));
      agents.set("site-c", startAgent("site-c", proxy.address, join(root, "site-c"), join(root, "site-c.log")));

      let state = "";
      const end = Date.now() + 180_000;
      while (!["completed", "failed", "cancelled"].includes(state) && Date.now() < end) {
        state = await admin.getRun(runId).then((r) => r.state, () => "unreachable");
        await sleep(250);
      }
      assert.equal(state, "completed", `run ended ${state}\n${coord.log().slice(-2000)}`);

      const audit: Audit__Output = await admin.getAudit(runId);
      assert.equal(audit.matrix!.rows.length, 3, "one R row per step");
      assert.ok(audit.matrix!.rows.every((r) => r.cells.length === 3 && r.cells.every((c) => !c.missing)), "R is complete");

      const d = new Database(join(stateDir, "coordinator.sqlite"), { readonly: true });
      const tasks = d.prepare("SELECT task_id, site_id, state FROM tasks WHERE run_id = ?").all(runId) as { task_id: string; site_id: string; state: string }[];
      const accepted = d.prepare("SELECT task_id, update_id FROM updates WHERE run_id = ? AND accepted = 1").all(runId) as { task_id: string; update_id: string }[];
      d.close();
      assert.deepEqual(tasks.map((t) => t.state), ["done", "done", "done"], "no task is stuck or dropped");
      for (const s of SITES) {
        const trained = lines(agents.get(s)!.log).filter((l) => l.startsWith("trained ")).map((l) => l.split(" "));
        assert.equal(trained.length, 1, `${s} trained ${trained.length} times: a finished update was retrained`);
        const [, taskId, sha] = trained[0];
        assert.deepEqual(accepted.filter((u) => u.task_id === taskId).map((u) => u.update_id), [sha], `${s}: the update it trained is the one aggregated`);
      }
      process.stdout.write(`# chaos: ${kills.join("; ")}; run completed in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    } finally {
      admin.close();
      for (const a of agents.values()) a.proc.kill("SIGTERM");
      await Promise.all([...agents.values()].map((a) => (a.proc.exitCode === null && a.proc.signalCode === null ? new Promise((r) => a.proc.once("exit", r)) : undefined)));
      await coord.stop();
      await proxy.close();
    }
  });
});
