// Fault suite, disk: a real coordinator process whose state dir is a small tmpfs, and real agent
// processes (tests/helpers/chaos-agent.ts), through runs in which the disk fills or turns
// read-only. Each case asserts that nothing accepted is lost, that no corrupt blob is visible, and
// that the run completes once the fault is removed. Needs root for the tmpfs (CI runs as root).
import { strict as assert } from "node:assert";
import { after, before, beforeEach, describe, it } from "node:test";
import { FaultRig, rOf, sleep, TIME_SCALE, until } from "../helpers/fault-rig.js";
import { mountTmpfs, tmpfsSkipReason, type SmallFs } from "../helpers/tmpfs.js";

const MB = 1024 * 1024;
const SITES = ["site-a", "site-b"];

interface Healthz {
  ok: boolean;
  writable: boolean;
  storage: { state: string; reason: string | null };
}

describe("faults - a full or read-only state dir", { skip: tmpfsSkipReason(), timeout: 600_000 * TIME_SCALE }, () => {
  let fs: SmallFs;
  let rig: FaultRig;
  let baseline: { R: number[][]; weights: Map<string, Float32Array> };

  const healthz = async (): Promise<Healthz> => JSON.parse((await rig.http("/healthz")).body) as Healthz;
  /**
   * The first /healthz answer in `state`. Its other fields are asserted on that same answer: with
   * the watermark off, a probe write may succeed a moment later (the failed upload's partial file
   * is gone) and the state flaps back to ok until the agent's retry fails again.
   */
  const healthzIn = async (state: string, timeoutMs: number): Promise<Healthz> => {
    let seen: Healthz | undefined;
    await until(`${state} reported`, async () => (seen = await healthz()).storage.state === state, timeoutMs);
    return seen!;
  };
  /** Trainings the site has finished so far. */
  const trained = (site: string): number => rig.trainLines(site).filter((l) => l.startsWith("trained ")).length;
  // Each case starts from a state dir that takes writes (the one before removed its fault) and no
  // run in progress (one left by a failed case would make the next case's fault hit its writes).
  beforeEach(async () => {
    if (!rig) return;
    await until("writable", async () => (await healthz()).writable, 60_000);
    await until("no run in progress", async () => (await rig.admin.listRuns(50)).runs.every((r) => !["pending", "running"].includes(r.state)));
  });

  before(async () => {
    fs = mountTmpfs(40 * MB);
    // No watermark: the faults here are writes that really fail (the watermark has its own test).
    rig = new FaultRig({ sites: SITES, stateDir: `${fs.dir}/state`, coordinatorEnv: { MEDFCL_COORDINATOR_MIN_FREE_BYTES: "0" }, trainMs: 800, uploadBytesPerSec: 400_000 });
    await rig.start();
    const runId = await rig.createRun({ name: "no-fault" });
    assert.equal(await rig.waitRun(runId), "completed");
    const audit = await rig.assertIntact(runId);
    baseline = { R: rOf(audit), weights: rig.finalWeights(audit) };
  });

  after(async () => {
    await rig?.close();
    fs?.close();
  });

  it("faults - disk full during an upload: the coordinator stays up, the dashboard answers, the upload gets RESOURCE_EXHAUSTED, and once the filler goes the run completes with the same R and weights as without the fault", async () => {
    const before = trained("site-a");
    const runId = await rig.createRun({ name: "full-during-upload" });
    // The upload (≈0.8 MB at 400 KB/s) starts as training ends; the disk keeps 300 KB of it.
    await until("site-a trained", () => trained("site-a") > before);
    fs.fill(300 * 1024);
    try {
      const h = await healthzIn("disk-full", 60_000);
      assert.equal(h.writable, false);
      assert.match(h.storage.reason ?? "", /ENOSPC/);
      assert.equal((await rig.http("/api/state")).status, 200, "the dashboard answers");
      await until("the agent told RESOURCE_EXHAUSTED", () => /RESOURCE_EXHAUSTED/.test(rig.agents.get("site-a")!.stderr()), 30_000);
      await sleep(1000);
      assert.equal(rig.coord.proc.exitCode, null, "the coordinator process is still up");
    } finally {
      fs.unfill();
    }
    assert.equal(await rig.waitRun(runId), "completed");
    const audit = await rig.assertIntact(runId);
    assert.deepEqual(rOf(audit), baseline.R, "the same R as the run without the fault");
    assert.deepEqual(rig.finalWeights(audit), baseline.weights, "the same final weights");
    assert.match(rig.coord.log(), /"msg":"run paused|"msg":"the coordinator refuses writes/);
  });

  it("faults - disk full during aggregation: the run pauses (no orphan version), and resumes when there is room", async () => {
    const before = trained("site-a");
    // int8 deltas (≈0.2 MB) fit in what is left; the aggregated model (≈0.8 MB) does not.
    const runId = await rig.createRun({ name: "full-during-aggregation", delta_encoding: "DELTA_ENCODING_INT8" });
    await until("site-a trained", () => trained("site-a") > before);
    fs.fill(600 * 1024);
    try {
      await until("disk-full reported", async () => (await healthz()).storage.state === "disk-full", 60_000);
      await until("the run paused", () => /"phase":"after a write failed[^"]*ENOSPC[^"]*".*"msg":"run paused/.test(rig.coord.log()), 30_000);
      assert.equal(rig.coord.proc.exitCode, null);
    } finally {
      fs.unfill();
    }
    assert.equal(await rig.waitRun(runId), "completed");
    await rig.assertIntact(runId);
    assert.match(rig.coord.log(), /"msg":"run resumed"/);
  });

  it("faults - disk full during the liveness timer flush: no uncaught exception, disk-full says why, and a run goes through after", async () => {
    // No run: the only writes are the heartbeats' write-behind flush.
    fs.fill(0);
    try {
      assert.match((await healthzIn("disk-full", 30_000)).storage.reason ?? "", /^liveness flush failed/);
      await sleep(1500);
      assert.equal(rig.coord.proc.exitCode, null, "the timer's failed flush did not end the process");
    } finally {
      fs.unfill();
    }
    await until("writable again", async () => (await healthz()).writable, 30_000);
    const runId = await rig.createRun({ name: "after-flush-fault" });
    assert.equal(await rig.waitRun(runId), "completed");
    await rig.assertIntact(runId);
  });

  it("faults - a read-only state dir (a read-only bind mount): writes are refused (disk-error), reads go on, and the run completes once it is writable again", async () => {
    const before = trained("site-b");
    const runId = await rig.createRun({ name: "read-only" });
    await until("site-a done, site-b training", () => rig.trainLines("site-b").length > 2 * before);
    const writable = fs.readOnly(rig.stateDir);
    try {
      assert.match((await healthzIn("disk-error", 60_000)).storage.reason ?? "", /EROFS|read-only|EIO/);
      assert.equal((await rig.admin.getRun(runId)).name, "read-only", "reads go on");
    } finally {
      writable();
    }
    assert.equal(await rig.waitRun(runId), "completed");
    await rig.assertIntact(runId);
  });
});
