/**
 * Load benchmark (issue 18): many simulated site agents against one coordinator, over real gRPC on
 * loopback. Each agent has its own channel (its own TCP connection, as separate hospitals would),
 * registers, then heartbeats every `intervalMs` (with a random phase) for `seconds`. The coordinator
 * is a separate process (`medfcl coordinator --insecure`), so its RSS and CPU are its own.
 *
 * Rows: idle (no agent: the baseline), then each agent count. Latency is the client-side round trip
 * of Heartbeat (p50, p99, max) over every beat of the window, which opens after every agent has
 * registered and beaten once (one interval of warm-up); RSS is the coordinator's VmRSS at the
 * end of the window and VmHWM (peak); CPU is the coordinator's utime+stime over the window, as a
 * percentage of one core. Ratios are against the idle row (CPU, RSS) of the same run; RSS per agent
 * is (RSS − idle RSS) / agents. The agents run in client processes of 250 each (this file with
 * --client), so that no single client event loop with 1,000 channels is what gets measured.
 *
 * Run: npx tsx bench/load.ts [agents=100,500,1000] [seconds=20] [intervalMs=1500]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { monitorEventLoopDelay } from "node:perf_hooks";
import * as grpc from "@grpc/grpc-js";
import { channelOptions, medfclProto } from "../services/transport/index.js";
import { call } from "../site-agent/client.js";
import type { SiteServiceClient } from "../generated/medfcl/v1/SiteService.js";

const repo = join(fileURLToPath(import.meta.url), "..", "..");
const clientMode = process.argv[2] === "--client";
const counts = clientMode ? [] : (process.argv[2] ?? "100,500,1000").split(",").map(Number);
const seconds = clientMode ? 1 : Number(process.argv[3] ?? "20");
const intervalMs = Number(clientMode ? process.argv[9] : (process.argv[4] ?? "1500"));
if (clientMode) {
  const [address, total, from, to, startAt, endAt] = process.argv.slice(3, 9);
  process.stdout.write(JSON.stringify(await runSlice(address, Number(total), Number(from), Number(to), Number(startAt), Number(endAt))));
  process.exit(0);
}
if (!counts.every((n) => Number.isInteger(n) && n > 0) || !(seconds > 0) || !(intervalMs > 0)) {
  process.stderr.write("usage: npx tsx bench/load.ts [agents=100,500,1000] [seconds=20] [intervalMs=1500]\n");
  process.exit(2);
}

const CLK_TCK = 100;
function procStat(pid: number): { cpuSec: number; rssMb: number; hwmMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const cpuSec = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
  return { cpuSec, rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024 };
}

async function startCoordinator(): Promise<{ pid: number; address: string; stop: () => void }> {
  const state = mkdtempSync(join(tmpdir(), "medfcl-load-"));
  const proc = spawn(process.execPath, ["--import", "tsx", join(repo, "cli", "main.ts"), "--log-level", "info", "coordinator", "--insecure", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--state-dir", state], {
    cwd: repo,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  return new Promise((resolve, reject) => {
    proc.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /"grpc":"([^"]+)"/.exec(err);
      if (m) resolve({ pid: proc.pid!, address: m[1], stop: () => proc.kill("SIGTERM") });
    });
    proc.on("exit", (code) => reject(new Error(`coordinator exited ${code}: ${err}`)));
  });
}

const percentile = (sorted: number[], p: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : Number.NaN);

interface Row {
  agents: number;
  beats: number;
  failed: number;
  p50: number;
  p99: number;
  max: number;
  rssMb: number;
  hwmMb: number;
  cpuPct: number;
  /** Worst client process's event-loop delay in the window: p99 and max, ms. */
  clientLoopP99: number;
  clientLoopMax: number;
}

interface SliceResult {
  latencies: number[];
  failed: number;
  /** The client process's own event-loop delay over the window (ms): latency it adds, not the coordinator's. */
  loopP99: number;
  loopMax: number;
}

/**
 * One client process's share of the agents: registers them, then heartbeats until `endAt` (epoch
 * ms), starting at `startAt`. Run as `bench/load.ts --client ADDRESS TOTAL FROM TO START_AT END_AT
 * INTERVAL_MS`; prints JSON.
 */
async function runSlice(address: string, total: number, from: number, to: number, startAt: number, endAt: number): Promise<SliceResult> {
  const clients: SiteServiceClient[] = [];
  const sessions: string[] = [];
  const manifest = (i: number) => ({ domain: `load-${i}`, task: "polyp", num_images: 10, num_annotations: 10, categories: [{ id: 1, name: "polyp", prompt: { prefix: "", name: "polyp", suffix: "" } }], annotations_sha256: "0".repeat(64), num_shareable: 0 });
  const siteId = (i: number): string => `load-site-${total}-${i}`;
  for (let i = from; i < to; i++) {
    // A local subchannel pool gives each agent its own connection, as separate sites would have.
    clients.push(new (medfclProto().medfcl.v1.SiteService)(address, grpc.credentials.createInsecure(), { ...channelOptions(), "grpc.use_local_subchannel_pool": 1 }) as SiteServiceClient);
  }
  await Promise.all(
    clients.map(async (c, k) => {
      for (let attempt = 0; ; attempt++) {
        try {
          sessions[k] = (await call<object, { session_id: string }>(c.Register.bind(c), { site_id: siteId(from + k), agent_version: "bench", manifest: manifest(from + k), backend: "wasm" }, 30_000)).session_id;
          return;
        } catch (err) {
          if (attempt > 5) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }),
  );
  // One heartbeat interval of warm-up before the window: every agent beats once untimed, so the
  // window sees a coordinator in its steady state (JIT-compiled heartbeat path, grown heap), as a
  // coordinator that has served its sites for hours is; registration and the first beats are not what is measured.
  const warmupAt = startAt - intervalMs;
  if (Date.now() > warmupAt) throw new Error(`registering ${to - from} agents took past the window's start; give the bench more time`);
  await new Promise((r) => setTimeout(r, warmupAt - Date.now()));
  const latencies: number[] = [];
  let failed = 0;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  setTimeout(() => loop.enable(), Math.max(0, startAt - Date.now()));
  await Promise.all(
    clients.map(async (c, k) => {
      await new Promise((r) => setTimeout(r, Math.random() * intervalMs));
      while (Date.now() < endAt) {
        const timed = Date.now() >= startAt;
        const s = performance.now();
        try {
          await call(c.Heartbeat.bind(c), { site_id: siteId(from + k), session_id: sessions[k], state: "idle", task_id: "", progress: 0, loss: 0 }, 10_000);
          if (timed) latencies.push(performance.now() - s);
        } catch {
          if (timed) failed++;
        }
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    }),
  );
  loop.disable();
  for (const c of clients) c.close();
  return { latencies, failed, loopP99: loop.percentile(99) / 1e6, loopMax: loop.max / 1e6 };
}

/** Agents per client process: one Node event loop answering 1,000 channels would measure itself, not the coordinator. */
const AGENTS_PER_CLIENT = 250;

async function measure(address: string, pid: number, agents: number): Promise<Row> {
  const registerMs = 15_000 + agents * 20 + intervalMs;
  const before = { at: 0, stat: procStat(pid) };
  const startAt = Date.now() + registerMs;
  const endAt = startAt + seconds * 1000;
  const slices: Promise<SliceResult>[] = [];
  for (let from = 0; from < agents; from += AGENTS_PER_CLIENT) {
    const to = Math.min(agents, from + AGENTS_PER_CLIENT);
    const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--client", address, String(agents), String(from), String(to), String(startAt), String(endAt), String(intervalMs)], { cwd: repo, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    slices.push(new Promise((resolve, reject) => child.once("exit", (code) => (code === 0 ? resolve(JSON.parse(out) as SliceResult) : reject(new Error(`client ${from}-${to} exited ${code}`))))));
  }
  // The window opens once every client registered its agents (registration is not what is measured).
  await new Promise((r) => setTimeout(r, startAt - Date.now()));
  before.stat = procStat(pid);
  before.at = Date.now();
  const results = await Promise.all(slices);
  const wall = (Date.now() - before.at) / 1000;
  const after = procStat(pid);
  const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const failed = results.reduce((a, r) => a + r.failed, 0);
  return { agents, beats: latencies.length, failed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? Number.NaN, rssMb: after.rssMb, hwmMb: after.hwmMb, cpuPct: (100 * (after.cpuSec - before.stat.cpuSec)) / wall, clientLoopP99: Math.max(...results.map((r) => r.loopP99)), clientLoopMax: Math.max(...results.map((r) => r.loopMax)) };
}

async function idle(pid: number): Promise<Row> {
  const before = procStat(pid);
  await new Promise((r) => setTimeout(r, Math.min(seconds, 10) * 1000));
  const after = procStat(pid);
  return { agents: 0, beats: 0, failed: 0, p50: Number.NaN, p99: Number.NaN, max: Number.NaN, rssMb: after.rssMb, hwmMb: after.hwmMb, cpuPct: (100 * (after.cpuSec - before.cpuSec)) / Math.min(seconds, 10), clientLoopP99: Number.NaN, clientLoopMax: Number.NaN };
}

const coord = await startCoordinator();
try {
  const rows = [await idle(coord.pid)];
  for (const n of counts) rows.push(await measure(coord.address, coord.pid, n));
  const base = rows[0];
  const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : "-");
  process.stdout.write(`\nheartbeat load: ${seconds} s per row, one beat per agent every ${intervalMs} ms; coordinator pid ${coord.pid}\n\n`);
  process.stdout.write("| agents | beats | failed | p50 ms | p99 ms | max ms | coord RSS MB (× idle) | RSS KiB per agent (over idle) | coord peak MB | coord CPU % of a core (− idle) | client loop delay p99 / max ms |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const r of rows) {
    const perAgent = r.agents ? f(((r.rssMb - base.rssMb) * 1024) / r.agents) : "-";
    process.stdout.write(`| ${r.agents} | ${r.beats} | ${r.failed} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} | ${f(r.rssMb, 0)} (${f(r.rssMb / base.rssMb, 2)}) | ${perAgent} | ${f(r.hwmMb, 0)} | ${f(r.cpuPct)} (${r.agents ? `+${f(r.cpuPct - base.cpuPct)}` : "-"}) | ${f(r.clientLoopP99)} / ${f(r.clientLoopMax)} |\n`);
  }
} finally {
  coord.stop();
}
