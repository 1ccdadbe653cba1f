// `medfcl runs watch` as a process against a coordinator: it follows the dashboard's event stream,
// draws a progress bar per site and R as it fills, and exits 0 when the run completes. The run's
// rows are written as the round runner writes them, then its events are published on the bus.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { defaultHyper } from "../../coordinator/admin-service.js";
import * as db from "../../coordinator/store/index.js";
import type { RunningCoordinator } from "../../coordinator/index.js";
import { renderFrame } from "../../cli/watch.js";
import { startTestCoordinator } from "../helpers/federation.js";

const root = new URL("../..", import.meta.url).pathname;
const TOKEN = "watch-test-token-0123456789abcdef";

function medfcl(args: string[], env: Record<string, string>): { done: Promise<{ code: number | null; out: string; err: string }>; out: () => string } {
  const p = spawn(process.execPath, ["--import", "tsx", join(root, "cli/main.ts"), ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  p.stdout.on("data", (d: Buffer) => (out += d.toString()));
  p.stderr.on("data", (d: Buffer) => (err += d.toString()));
  return { done: new Promise((resolve) => p.on("exit", (code) => resolve({ code, out, err }))), out: () => out };
}

async function until(cond: () => boolean, what: () => string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out; the watch printed:\n${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("runs watch", () => {
  let coord: RunningCoordinator;
  before(async () => {
    coord = await startTestCoordinator({ dashboardToken: TOKEN });
    for (const [site, domain] of [["site-1", "kvasir"], ["site-2", "etis"]]) {
      db.upsertSite(coord.ctx.db, { siteId: site, domain, task: "polyp", manifest: { num_images: 1 }, backend: "wasm", agentVersion: "0.1.0", sessionId: "s" });
    }
    db.insertRun(coord.ctx.db, { runId: "run-w", name: "watched", strategy: "sequential", state: "running", sites: ["site-1", "site-2"], options: {}, hyper: defaultHyper("nano"), model: "nano", seed: 1, baseVersion: null, dropoutPolicy: "skip", deltaEncoding: "fp32", evaluation: "central", secureAggregation: false, secureAggregationThreshold: 0 });
  });
  after(async () => {
    await coord?.close();
  });

  it("runs watch - follows the event stream: a progress bar per site, R as it fills, exit 0 when the run completes", async () => {
    const w = medfcl(["runs", "watch", "watched", "--http", coord.httpAddress], { MEDFCL_COORDINATOR_DASHBOARD_TOKEN: TOKEN });
    await until(() => w.out().includes("watched (sequential) running"), w.out);
    const ev = coord.ctx.events;
    db.upsertStep(coord.ctx.db, { runId: "run-w", index: 0, state: "training", domain: "kvasir", sites: ["site-1"], parentVersion: null, version: null });
    await ev.publish({ type: "step.opened", runId: "run-w", step: 0, baseVersion: "b".repeat(64), sites: ["site-1"] });
    await ev.publish({ type: "task.assigned", runId: "run-w", step: 0, siteId: "site-1", taskId: "task-1", baseVersion: "b".repeat(64) });
    await ev.publish({ type: "site.heartbeat", siteId: "site-1", state: "training", taskId: "task-1" });
    await ev.publish({ type: "site.progress", siteId: "site-1", runId: "run-w", taskId: "task-1", progress: 0.5, loss: 1.25 });
    await until(() => /site-1\s+training\s+\[#{12}\.{12}\]\s+50%\s+loss 1\.2500/.test(w.out()), w.out);
    assert.match(w.out(), /steps 0\/2/);
    db.upsertEvaluation(coord.ctx.db, { runId: "run-w", step: 0, domain: "kvasir", version: "v".repeat(64), ap: 41.5, ap50: 60, stats: [], perCategoryAp: {} });
    db.upsertEvaluation(coord.ctx.db, { runId: "run-w", step: 0, domain: "etis", version: "v".repeat(64), ap: 12.25, ap50: 20, stats: [], perCategoryAp: {} });
    await ev.publish({ type: "evaluated", runId: "run-w", step: 0, version: "v".repeat(64), ap: { kvasir: 41.5, etis: 12.25 } });
    await until(() => /0 kvasir\s+41\.5\s+12\.3/.test(w.out()), w.out);
    db.updateStep(coord.ctx.db, "run-w", 0, { state: "closed", version: "v".repeat(64) });
    await ev.publish({ type: "step.closed", runId: "run-w", step: 0, version: "v".repeat(64) });
    await until(() => /steps 1\/2/.test(w.out()), w.out);
    db.updateRun(coord.ctx.db, "run-w", { state: "completed" });
    await ev.publish({ type: "run.completed", runId: "run-w" });
    const res = await w.done;
    assert.equal(res.code, 0, res.err);
    assert.match(res.out, /watched \(sequential\) completed/);
  });

  it("runs watch - a wrong token is a clear error and exit 1; no token at all is a usage error", async () => {
    const bad = await medfcl(["runs", "watch", "watched", "--http", coord.httpAddress, "--once"], { MEDFCL_COORDINATOR_DASHBOARD_TOKEN: "wrong-token-wrong-token" }).done;
    assert.equal(bad.code, 1);
    assert.match(bad.err, /refused the token/);
    const none = await medfcl(["runs", "watch", "watched", "--http", coord.httpAddress], { MEDFCL_COORDINATOR_DASHBOARD_TOKEN: "" }).done;
    assert.equal(none.code, 2);
    assert.match(none.err, /no dashboard token/);
  });

  it("runs watch - a frame shows a site that has not registered and a silent one", () => {
    const frame = renderFrame(
      { runId: "r", name: "n", strategy: "joint", state: "running", sites: ["a", "ghost"], plannedSteps: 1, createdAt: "", updatedAt: "", error: null, baseVersion: null, currentVersion: null, steps: [], domains: [], evals: {}, lineage: [], updates: { received: 0, rejected: [] } },
      [{ siteId: "a", domain: "d", task: "t", backend: "wasm", agentVersion: "", registeredAt: "", lastSeenAt: new Date(0).toISOString(), alive: false, state: "training", taskId: null, runId: null, progress: null, loss: null, lastHeartbeatAt: null }],
      Date.parse("1970-01-01T00:02:00Z"),
    );
    assert.match(frame, /a\s+silent\s+\[\.{24}\]\s+-\s+loss -\s+heartbeat 2m ago/);
    assert.match(frame, /ghost\s+\(not registered\)/);
  });
});
