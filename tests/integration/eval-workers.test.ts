// Central evaluation on JetStream workers with a real nats-server: the coordinator publishes one job
// per (model version, domain), `medfcl eval-worker` processes answer them. The first worker is
// SIGKILLed in the middle of a job; the job must come back to the second one, and R must be complete
// and identical to evaluating the same versions in-process. Training is a stand-in (a constant
// delta): the evaluation is what this test is about, and it is real (ONNX + the COCO port).
import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { agentSchema } from "../../services/config/index.js";
import { synthesizeSuite } from "../../services/data/index.js";
import { connectEvalQueue, runEvalWorker } from "../../services/eval-queue/index.js";
import { silentLogger } from "../../services/log/index.js";
import { createAdminClient } from "../../services/transport/index.js";
import type { RunningCoordinator } from "../../coordinator/index.js";
import { detectorModelOps } from "../../coordinator/model-ops-detector.js";
import * as store from "../../coordinator/store/index.js";
import { runAgent } from "../../site-agent/agent.js";
import type { SiteWork } from "../../site-agent/types.js";
import { constantDelta, encodedDelta, manifestOf, startTestCoordinator, testManifest } from "../helpers/federation.js";
import { natsSkipReason, startNatsServer, type NatsServerHandle } from "../helpers/nats.js";
import { tempDir } from "../helpers/temp.js";

const root = new URL("../..", import.meta.url).pathname;

function lightWork(domain: string): SiteWork {
  return {
    manifest: () => testManifest(domain),
    checkTask: () => undefined,
    async train(_task, base) {
      const delta = constantDelta(base, 1e-3);
      return { delta: encodedDelta(delta), manifest: manifestOf(delta), encoding: "fp32", numSamples: 10, metrics: [] };
    },
    offerExemplars: () => Promise.resolve([]),
  };
}

interface Worker {
  proc: ChildProcess;
  log(): string;
  exited: Promise<unknown>;
}

function evalWorker(name: string, nats: string, coordinator: string, sets: Record<string, string>): Worker {
  const args = ["--import", "tsx", join(root, "cli/main.ts"), "eval-worker", "--insecure", "--nats", nats, "--coordinator", coordinator, "--name", name, "--threads", "1"];
  for (const [d, dir] of Object.entries(sets)) args.push("--eval-set", `${d}=${dir}`);
  const proc = spawn(process.execPath, args, { cwd: root, env: { ...process.env, MEDFCL_LOG_PRETTY: "0" }, stdio: ["ignore", "ignore", "pipe"] });
  let text = "";
  proc.stderr?.on("data", (d: Buffer) => (text += d.toString()));
  return { proc, log: () => text, exited: new Promise((r) => proc.once("exit", r)) };
}

async function until(what: string, ok: () => boolean, timeoutMs: number, worker?: Worker): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (worker && worker.proc.exitCode !== null) throw new Error(`the worker exited (${worker.proc.exitCode}) before ${what}:\n${worker.log()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${worker ? `; worker log:\n${worker.log()}` : ""}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function federation(coord: RunningCoordinator, domains: string[]): Promise<() => Promise<void>> {
  const agents = domains.map((domain, i) => {
    const config = agentSchema.parse({ siteId: `site-${i}`, coordinator: coord.address, insecure: true, stateDir: tempDir("medfcl-evalq-site-") });
    const abort = new AbortController();
    return { abort, done: runAgent({ config, logger: silentLogger(), work: lightWork(domain), signal: abort.signal }) };
  });
  return async () => {
    for (const a of agents) a.abort.abort();
    await Promise.all(agents.map((a) => a.done));
  };
}

async function runToEnd(coord: RunningCoordinator, name: string, sites: string[]) {
  const admin = createAdminClient(coord.address, { insecure: true });
  let runId = "";
  for (let i = 0; !runId; i++) {
    runId = await admin.createRun({ model: "nano", name, strategy: "sequential", sites, seed: 5 }).then((r) => r.run_id, (err: Error) => (i > 200 ? Promise.reject(err) : ""));
    if (!runId) await new Promise((r) => setTimeout(r, 100));
  }
  // Polled by hand: on a loaded machine a poll can fail (UNAVAILABLE) while the run goes on.
  const deadline = Date.now() + 600_000;
  let run = await admin.getRun(runId);
  while (!["completed", "failed", "cancelled"].includes(run.state) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    run = await admin.getRun(runId).catch(() => run);
  }
  const audit = await admin.getAudit(runId);
  admin.close();
  return { run, audit };
}

describe("eval workers - central evaluation on a JetStream work queue", { skip: natsSkipReason(), timeout: 900_000 }, () => {
  const dir = tempDir("medfcl-evalq-");
  let nats: NatsServerHandle;
  let sets: Record<string, string> = {};
  let cleanups: (() => Promise<unknown>)[] = [];

  // Each test gets its own NATS server: the queue's streams and consumers belong to one coordinator.
  beforeEach(async () => {
    nats = await startNatsServer();
  });
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    cleanups = [];
    await nats.stop();
  });

  before(async () => {
    const suite = await synthesizeSuite({ suite: "polyp", out: join(dir, "suite"), seed: 3, scale: "tiny" });
    const train = suite.domains.filter((d) => d.role === "train").slice(0, 2);
    sets = Object.fromEntries(train.map((d) => [d.name, join(dir, "suite", d.splits.test)]));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it("eval workers - a worker SIGKILLed mid-job loses nothing: the job is redelivered and R is complete and identical to in-process evaluation", async () => {
    const coord = await startTestCoordinator({ nats: nats.url, evalWorkers: "external", evalQueue: { ackWaitMs: 3000, maxDeliver: 5 }, evalSets: sets, heartbeatMisses: 15 }, detectorModelOps({ evalThreads: 1 }));
    cleanups.push(() => coord.close());
    const stopAgents = await federation(coord, Object.keys(sets));
    cleanups.push(stopAgents);

    const first = evalWorker("worker-killed", nats.url, coord.address, sets);
    cleanups.push(async () => first.proc.kill("SIGKILL"));
    const running = runToEnd(coord, "evalq-kill", ["site-0", "site-1"]);
    // The first job: the worker logged that it took it and has not acknowledged it.
    await until("the first worker to start a job", () => first.log().includes('"msg":"evaluating"'), 600_000, first);
    first.proc.kill("SIGKILL");
    await first.exited;
    assert.ok(!first.log().includes('"msg":"evaluated"'), "the killed worker finished no job");
    const taken = JSON.parse(first.log().split("\n").find((l) => l.includes('"msg":"evaluating"'))!) as { domain: string; step: number };

    const second = evalWorker("worker-survivor", nats.url, coord.address, sets);
    cleanups.push(async () => second.proc.kill("SIGKILL"));
    const { run, audit } = await running;
    assert.equal(run.state, "completed", run.error);

    // The killed worker's job came back (a second delivery) and the survivor answered it.
    const redelivered = second
      .log()
      .split("\n")
      .filter((l) => l.includes('"msg":"evaluating"'))
      .map((l) => JSON.parse(l) as { domain: string; step: number; deliveries: number });
    assert.ok(
      redelivered.some((j) => j.domain === taken.domain && j.step === taken.step && j.deliveries >= 2),
      `the job the killed worker held (step ${taken.step}, ${taken.domain}) was redelivered: ${JSON.stringify(redelivered)}`,
    );

    // R is complete: every step × domain, and the base row.
    const m = audit.matrix!;
    assert.equal(m.rows.length, 2);
    for (const row of m.rows) assert.ok(row.cells.every((c) => !c.missing), `no empty cell: ${JSON.stringify(row.cells)}`);
    const evals = store.evaluationsForRun(coord.ctx.db, run.run_id);
    assert.equal(evals.length, 3 * Object.keys(sets).length, "base + 2 steps, each on every domain");

    // Identical to evaluating the same model versions in this process, number for number.
    const inProcess = detectorModelOps({ evalThreads: 1 });
    const setList = Object.entries(sets).map(([domain, d]) => ({ domain, dir: d }));
    for (const version of [...new Set(evals.map((e) => e.version))]) {
      const expected = await inProcess.evaluate(coord.ctx.blobs.get(version), setList);
      for (const e of expected) {
        const got = evals.find((x) => x.version === version && x.domain === e.domain)!;
        assert.deepEqual({ ap: got.ap, ap50: got.ap50, stats: got.stats, perCategoryAp: got.perCategoryAp }, { ap: e.ap, ap50: e.ap50, stats: e.stats, perCategoryAp: e.perCategoryAp }, `version ${version.slice(0, 12)} on ${e.domain}`);
      }
    }
    // Every stored answer came from an external worker, and the queue is empty.
    const answers = evals.map((e) => store.getCentralEvaluation(coord.ctx.db, e.version, e.domain)!);
    assert.ok(answers.every((a) => a.ok && a.worker === "worker-survivor"), JSON.stringify(answers.map((a) => a.worker)));
  });

  it("eval workers - a job that fails on every delivery leaves its cell empty with the reason after MaxDeliver", async () => {
    const coord = await startTestCoordinator({ nats: nats.url, evalWorkers: "external", evalQueue: { ackWaitMs: 2000, maxDeliver: 2 }, evalSets: sets, heartbeatMisses: 15 }, detectorModelOps({ evalThreads: 1 }));
    cleanups.push(() => coord.close());
    const stopAgents = await federation(coord, Object.keys(sets));
    cleanups.push(stopAgents);
    const [broken] = Object.keys(sets);
    // A worker whose evaluation of one domain always throws; the other domain evaluates for real.
    const nc = await connectEvalQueue(nats.url, "test-worker");
    const abort = new AbortController();
    const models = detectorModelOps({ evalThreads: 1 });
    const worker = runEvalWorker({
      nc,
      name: "test-worker",
      logger: silentLogger(),
      hasDomain: () => true,
      fetchModel: (v) => Promise.resolve(coord.ctx.blobs.get(v)),
      evaluate: async (checkpoint, domain) => {
        if (domain === broken) throw new Error("annotations.json of the test set is unreadable");
        return (await models.evaluate(checkpoint, [{ domain, dir: sets[domain] }]))[0];
      },
      signal: abort.signal,
    });
    cleanups.push(async () => {
      abort.abort();
      await worker;
      await nc.close();
    });
    const { run, audit } = await runToEnd(coord, "evalq-fail", ["site-0", "site-1"]);
    assert.equal(run.state, "completed", run.error);
    const col = audit.matrix!.domains.indexOf(broken);
    for (const row of audit.matrix!.rows) {
      assert.equal(row.cells[col].missing, true);
      assert.match(row.cells[col].missing_reason, /central evaluation: evaluation failed after 2 deliveries: annotations\.json of the test set is unreadable/);
      assert.equal(row.cells[1 - col].missing, false, "the other domain is evaluated");
    }
  });
});
