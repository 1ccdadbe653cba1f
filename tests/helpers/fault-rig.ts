// A federation of real processes for the fault suite (tests/faults): a coordinator (`medfcl
// coordinator`, restartable at the same address) and chaos agents (the production protocol loop,
// spool and retries; training is a fixed delta after a pause), with tiny central test sets so that
// every step is really evaluated. It also checks the invariants every fault case ends with.
import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import sharp from "sharp";
import { inspectState, verifyState } from "../../coordinator/index.js";
import * as store from "../../coordinator/store/index.js";
import { parseCheckpoint } from "../../services/model/index.js";
import { createAdminClient, retryTransient, type AdminClient } from "../../services/transport/index.js";
import type { Audit__Output } from "../../generated/medfcl/v1/Audit.js";
import type { CreateRunRequest } from "../../generated/medfcl/v1/CreateRunRequest.js";
import { startCoordinatorProcess, type CoordinatorProcess } from "./processes.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";
import { tempDir } from "./temp.js";

const repo = join(import.meta.dirname, "..", "..");

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Every wait of the fault suite, and the liveness window and deadlines it gives the coordinator, is
 * multiplied by MEDFCL_TEST_TIME_SCALE (default 1): on a machine shared with other work, processes
 * started at a lower priority may take minutes to start and stall for many seconds.
 */
export const TIME_SCALE = Math.max(1, Number(process.env.MEDFCL_TEST_TIME_SCALE ?? "1") || 1);

/** With MEDFCL_FAULTS_TRACE=FILE, each wait of the suite is appended there as it starts and ends. */
export function trace(line: string): void {
  if (process.env.MEDFCL_FAULTS_TRACE) appendFileSync(process.env.MEDFCL_FAULTS_TRACE, `${new Date().toISOString()} ${line}\n`);
}

export async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  trace(`waiting for ${what}`);
  const end = Date.now() + timeoutMs * TIME_SCALE;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`fault suite: timed out waiting for ${what}`);
    await sleep(50);
  }
  trace(`done: ${what}`);
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** A tiny central test set: two 64×64 images with one box each. */
export async function evalSet(dir: string, seed: number): Promise<void> {
  mkdirSync(join(dir, "images"), { recursive: true });
  const images = [];
  const annotations = [];
  for (let i = 1; i <= 2; i++) {
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 40 * seed, g: 90, b: 30 * i } } })
      .composite([{ input: { create: { width: 20, height: 16, channels: 3, background: "#e0a0a0" } }, left: 10 * i, top: 12 }])
      .png()
      .toBuffer();
    writeFileSync(join(dir, "images", `${i}.png`), png);
    images.push({ id: i, file_name: `images/${i}.png`, width: 64, height: 64 });
    annotations.push({ id: i, image_id: i, category_id: 1, bbox: [10 * i, 12, 20, 16], area: 320, iscrowd: 0 });
  }
  writeFileSync(join(dir, "annotations.json"), JSON.stringify({ images, annotations, categories: [{ id: 1, name: "polyp", prompt: { prefix: "", name: "polyp", suffix: "" } }] }));
}

export interface AgentProc {
  site: string;
  proc: ChildProcess;
  /** The trainings it did: "training <task>" and "trained <task> <sha256>" lines. */
  trainLog: string;
  /** Its pino log (stderr). */
  stderr(): string;
  exited: Promise<unknown>;
}

export const DASHBOARD_TOKEN = "fault-suite-dashboard-token-0123";

export interface RigOptions {
  sites: string[];
  /** The coordinator's state dir (a tmpfs for disk faults); a temp dir by default. */
  stateDir?: string;
  /** Extra `MEDFCL_COORDINATOR_*` settings, e.g. { MEDFCL_COORDINATOR_MIN_FREE_BYTES: "0" }. */
  coordinatorEnv?: NodeJS.ProcessEnv;
  /** How long each chaos training takes (ms). */
  trainMs?: number;
  /** Agents reach the coordinator through a TCP proxy throttling uploads to this many bytes/s. */
  uploadBytesPerSec?: number;
}

export class FaultRig {
  readonly root = tempDir("medfcl-faults-");
  readonly stateDir: string;
  readonly agents = new Map<string, AgentProc>();
  coord!: CoordinatorProcess;
  admin!: AdminClient;
  listen = "";
  /** The fixed HTTP address (the dashboard, /healthz), kept across restarts. */
  httpListen = "";
  proxy: TcpProxy | null = null;
  private evalArgs: string[] = [];

  constructor(readonly o: RigOptions) {
    this.stateDir = o.stateDir ?? join(this.root, "coord");
  }

  async start(): Promise<void> {
    for (const [i, s] of this.o.sites.entries()) {
      await evalSet(join(this.root, "eval", s), i + 1);
      this.evalArgs.push("--eval-set", `dom-${s}=${join(this.root, "eval", s)}`);
    }
    this.listen = `127.0.0.1:${await freePort()}`;
    this.httpListen = `127.0.0.1:${await freePort()}`;
    await this.startCoordinator();
    if (this.o.uploadBytesPerSec) this.proxy = await startTcpProxy({ host: "127.0.0.1", port: Number(this.listen.split(":")[1]) }, this.o.uploadBytesPerSec);
    this.admin = createAdminClient(this.listen, { insecure: true });
    for (const s of this.o.sites) this.startAgent(s);
    // A run names its sites, and the coordinator refuses one whose sites have not registered yet.
    await until("every agent registered", () => [...this.agents.values()].every((a) => a.stderr().includes('"msg":"registered with the coordinator"')));
  }

  /** `medfcl coordinator` on the rig's state dir and address; the HTTP port is new each time. */
  async startCoordinator(): Promise<CoordinatorProcess> {
    trace(`starting the coordinator on ${this.stateDir}`);
    this.coord = await startCoordinatorProcess(this.stateDir, {
      listen: this.listen,
      args: [...this.evalArgs, "--http", this.httpListen],
      env: { MEDFCL_COORDINATOR_STORAGE_CHECK_MS: "200", MEDFCL_COORDINATOR_HEARTBEAT_INTERVAL_MS: "500", MEDFCL_COORDINATOR_HEARTBEAT_MISSES: String(60 * TIME_SCALE), MEDFCL_COORDINATOR_DASHBOARD_TOKEN: DASHBOARD_TOKEN, ...this.o.coordinatorEnv },
      timeoutMs: 90_000 * TIME_SCALE,
    });
    return this.coord;
  }

  async restartCoordinator(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    await this.coord.stop(signal);
    await this.startCoordinator();
  }

  /**
   * A GET on the coordinator's HTTP port. fetch reuses kept-alive sockets, and one the server closed
   * at the same moment fails with ECONNRESET (seen on a loaded machine): that request is sent again
   * on a new socket. Any other failure (the process is gone: ECONNREFUSED) is thrown.
   */
  async http(path: string): Promise<{ status: number; body: string }> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await fetch(`http://${this.httpListen}${path}`, { headers: { authorization: `Bearer ${DASHBOARD_TOKEN}` } });
        return { status: res.status, body: await res.text() };
      } catch (err) {
        if (attempt >= 3 || ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code !== "ECONNRESET") throw err;
      }
    }
  }

  startAgent(site: string, env: NodeJS.ProcessEnv = {}): AgentProc {
    const trainLog = join(this.root, `${site}.train.log`);
    const proc = spawn(process.execPath, ["--import", "tsx", join(repo, "tests", "helpers", "chaos-agent.ts")], {
      cwd: repo,
      env: { ...process.env, CHAOS_SITE: site, CHAOS_COORDINATOR: this.proxy?.address ?? this.listen, CHAOS_STATE_DIR: join(this.root, "agents", site), CHAOS_TRAIN_LOG: trainLog, CHAOS_TRAIN_MS: String(this.o.trainMs ?? 1500), CHAOS_POLL_WAIT_MS: "2000", ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    const agent: AgentProc = { site, proc, trainLog, stderr: () => err, exited: new Promise((r) => proc.once("exit", r)) };
    this.agents.set(site, agent);
    return agent;
  }

  trainLines(site: string): string[] {
    const path = this.agents.get(site)!.trainLog;
    return existsSync(path) ? readFileSync(path, "utf8").trim().split("\n").filter(Boolean) : [];
  }

  /** Creates a run, retrying while the coordinator is not up yet. */
  async createRun(req: CreateRunRequest): Promise<string> {
    trace(`creating run ${req.name}`);
    const run = await retryTransient(() => this.admin.createRun({ strategy: "sequential", sites: this.o.sites, seed: 7, model: "nano", ...req }));
    return run.run_id;
  }

  /** Waits for the run to end (through coordinator restarts); returns its state. */
  async waitRun(runId: string, timeoutMs = 180_000): Promise<string> {
    trace(`waiting for run ${runId}`);
    const run = await this.admin.waitForRun(runId, { pollMs: 200, timeoutMs: timeoutMs * TIME_SCALE });
    trace(`run ${runId} ${run.state}`);
    return run.state;
  }

  async audit(runId: string): Promise<Audit__Output> {
    return this.admin.getAudit(runId);
  }

  /**
   * What every fault case ends with: the run completed with a full R; no blob is corrupt or
   * missing and no version is an orphan (`store verify`); every accepted update is the one its site
   * trained (nothing accepted lost or replaced); no task is left open; step.opened once per step.
   */
  async assertIntact(runId: string, opts: { dropouts?: string[] } = {}): Promise<Audit__Output> {
    trace(`checking run ${runId}`);
    const audit = await this.audit(runId);
    assert.ok(audit.matrix!.rows.length > 0 && audit.matrix!.rows.every((r) => r.cells.every((c) => !c.missing)), "R is complete");
    const state = inspectState(this.stateDir);
    try {
      const report = verifyState(state.blobs, state.db);
      assert.deepEqual({ corrupt: report.corrupt, missing: report.missing, orphanVersions: report.orphanVersions.map((v) => v.version) }, { corrupt: [], missing: [], orphanVersions: [] }, "store verify is clean");
      const db = state.db!;
      const tasks = store.tasksOfRun(db, runId);
      assert.ok(tasks.every((t) => ["done", "dropped", "rejected", "failed", "refused", "cancelled"].includes(t.state)), `no task left open: ${tasks.map((t) => t.state).join(", ")}`);
      const accepted = store.updatesForRun(db, runId).filter((u) => u.accepted);
      for (const site of this.o.sites) {
        if (opts.dropouts?.includes(site)) continue;
        const mine = accepted.filter((u) => u.siteId === site);
        assert.equal(mine.length, tasks.filter((t) => t.siteId === site).length, `${site}: one accepted update per task`);
        const trained = new Set(this.trainLines(site).filter((l) => l.startsWith("trained ")).map((l) => l.split(" ")[2]));
        for (const u of mine) {
          assert.ok(trained.has(u.updateId), `${site}: the accepted update ${u.updateId.slice(0, 12)} is one the site trained`);
          assert.equal(state.blobs.get(u.updateId).length > 0, true, "and its bytes are there, intact");
        }
      }
      const opened = (db.prepare("SELECT payload_json FROM events WHERE type = 'step.opened'").all() as { payload_json: string }[]).map((r) => JSON.parse(r.payload_json) as { runId: string; step: number }).filter((e) => e.runId === runId);
      assert.equal(opened.length, new Set(opened.map((e) => e.step)).size, "step.opened once per step");
    } finally {
      state.close();
    }
    return audit;
  }

  /** The tensors of a run's final model, for comparing two runs' weights (version bytes carry a time). */
  finalWeights(audit: Audit__Output): Map<string, Float32Array> {
    const last = audit.lineage[audit.lineage.length - 1].version;
    const state = inspectState(this.stateDir);
    try {
      const { tensors } = parseCheckpoint(state.blobs.get(last));
      return new Map([...tensors].map(([k, t]) => [k, t.data as Float32Array]));
    } finally {
      state.close();
    }
  }

  async close(): Promise<void> {
    this.admin?.close();
    for (const a of this.agents.values()) if (a.proc.exitCode === null && a.proc.signalCode === null) a.proc.kill("SIGKILL");
    await Promise.all([...this.agents.values()].map((a) => a.exited));
    await this.coord?.stop("SIGKILL");
    await this.proxy?.close();
  }
}

/** R as numbers, for comparing two runs. */
export function rOf(audit: Audit__Output): number[][] {
  return audit.matrix!.rows.map((r) => r.cells.map((c) => c.value));
}
