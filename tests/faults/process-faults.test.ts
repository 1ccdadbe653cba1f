// Fault suite, processes: SIGKILL of the coordinator and of agents at each phase of a round, and
// an agent stopped (SIGSTOP) past its deadline; `runs create --wait` and `runs watch` follow the
// run through the coordinator's restarts. Real processes over real gRPC (tests/helpers/fault-rig).
// The chaos suite (tests/chaos) kills the coordinator mid-training and mid-upload and an agent
// mid-upload; this one covers the other phases: an agent as its task arrives (download) and while
// it trains, the coordinator while it assigns a step's tasks and while it aggregates and evaluates.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { listSpool } from "../../site-agent/spool.js";
import { DASHBOARD_TOKEN, FaultRig, TIME_SCALE, until } from "../helpers/fault-rig.js";

const repo = join(import.meta.dirname, "..", "..");

function cli(args: string[], env: NodeJS.ProcessEnv = {}): { done: Promise<{ code: number | null; out: string; err: string }>; err: () => string } {
  const p = spawn(process.execPath, ["--import", "tsx", join(repo, "cli", "main.ts"), ...args], { cwd: repo, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  p.stdout.on("data", (d: Buffer) => (out += d.toString()));
  p.stderr.on("data", (d: Buffer) => (err += d.toString()));
  return { done: new Promise((resolve) => p.on("exit", (code) => resolve({ code, out, err }))), err: () => err };
}

/** Log lines (pino JSON) of a process with this message, optionally with fields matching. */
const logged = (log: string, msg: string, fields: RegExp = /./): boolean => log.split("\n").some((l) => l.includes(`"msg":"${msg}"`) && fields.test(l));

describe("faults - processes killed and stopped", { timeout: 600_000 * TIME_SCALE }, () => {
  it("faults - SIGKILL of an agent as its task arrives and while it trains, and of the coordinator while it assigns and while it aggregates: the run completes, each update trained once; runs create --wait and runs watch follow it through the restarts", async () => {
    const sites = ["site-a", "site-b", "site-c"];
    const rig = new FaultRig({ sites, trainMs: 1500 });
    await rig.start();
    const kills: string[] = [];
    try {
      const create = cli(["runs", "create", "--name", "killed", "--strategy", "sequential", ...sites.flatMap((s) => ["--site", s]), "--seed", "7", "--model", "nano", "--coordinator", rig.listen, "--insecure", "--wait"]);
      await until("the run created", async () => (await rig.admin.listRuns(10).catch(() => ({ runs: [] }))).runs.some((r) => r.name === "killed"));
      const watch = cli(["runs", "watch", "killed", "--http", rig.httpListen], { MEDFCL_COORDINATOR_DASHBOARD_TOKEN: DASHBOARD_TOKEN });

      // Step 0, site-a: killed as its task arrives (before or during the model download), restarted.
      await until("site-a received its task", () => logged(rig.agents.get("site-a")!.stderr(), "task received"));
      rig.agents.get("site-a")!.proc.kill("SIGKILL");
      await rig.agents.get("site-a")!.exited;
      kills.push("agent site-a on task receipt");
      rig.startAgent("site-a");

      // Step 0 done: the coordinator is killed as it aggregates and evaluates.
      await until("site-a's update accepted", () => logged(rig.coord.log(), "update accepted", /"siteId":"site-a"/));
      await rig.restartCoordinator("SIGKILL");
      kills.push("coordinator aggregating step 0");

      // Step 1: the coordinator is killed as it opens the step and assigns its task.
      await until("step 1 opened", () => logged(rig.coord.log(), "step opened", /"step":1/));
      await rig.restartCoordinator("SIGKILL");
      kills.push("coordinator assigning step 1");

      // Step 1, site-b: killed while it trains, restarted (it trains again: nothing was finished).
      await until("site-b training", () => rig.trainLines("site-b").some((l) => l.startsWith("training")));
      rig.agents.get("site-b")!.proc.kill("SIGKILL");
      await rig.agents.get("site-b")!.exited;
      kills.push("agent site-b training");
      rig.startAgent("site-b");

      const created = await create.done;
      assert.equal(created.code, 0, `runs create --wait: ${created.err.slice(-2000)}`);
      const audit = JSON.parse(created.out.slice(created.out.indexOf("{"))) as { run_id: string; matrix: { rows: unknown[] } };
      assert.equal(audit.matrix.rows.length, 3, "--wait printed the full audit");
      assert.match(created.err, /is not answering .* trying again/, "--wait said it was waiting for the coordinator");
      const watched = await watch.done;
      assert.equal(watched.code, 0, `runs watch: ${watched.err.slice(-2000)}`);
      assert.match(watched.out, /killed \(sequential\) completed/);

      await rig.assertIntact(audit.run_id);
      for (const s of sites) {
        const done = rig.trainLines(s).filter((l) => l.startsWith("trained "));
        assert.equal(done.length, 1, `${s} finished training once`);
      }
      process.stdout.write(`# faults: ${kills.join("; ")}\n`);
    } finally {
      await rig.close();
    }
  });

  it("faults - an agent stopped (SIGSTOP) past its deadline is a dropout; resumed, its late update is refused and dropped from its spool; the run completes without it", async () => {
    const rig = new FaultRig({ sites: ["site-a", "site-b"], trainMs: 1500, coordinatorEnv: { MEDFCL_COORDINATOR_TASK_DEADLINE_MS: String(8000 * TIME_SCALE) } });
    await rig.start();
    try {
      const runId = await rig.createRun({ name: "stopped" });
      await until("site-b training", () => rig.trainLines("site-b").some((l) => l.startsWith("training")));
      const b = rig.agents.get("site-b")!;
      b.proc.kill("SIGSTOP");
      try {
        await until("site-b dropped", () => logged(rig.coord.log(), "site dropped out", /"siteId":"site-b"/), 60_000);
      } finally {
        b.proc.kill("SIGCONT");
      }
      assert.equal(await rig.waitRun(runId), "completed");
      await until("site-b told its late update is refused", () => /no longer accepts uploads/.test(b.stderr()), 30_000);
      await rig.assertIntact(runId, { dropouts: ["site-b"] });
      const audit = await rig.audit(runId);
      assert.equal(audit.rejected_updates.length, 0, "the late update was refused, not recorded as a rejected delta");
      assert.deepEqual(listSpool(join(rig.root, "agents", "site-b")), [], "the refused update is not kept in the spool");
    } finally {
      await rig.close();
    }
  });
});
