/**
 * Load benchmark (issue 18): many simulated site agents against one coordinator, over real gRPC on
 * loopback. Each agent has its own channel (its own TCP connection, as separate hospitals would),
 * registers, then heartbeats every `intervalMs` (with a random phase) for `seconds`. The coordinator
 * is a separate process (`medfcl coordinator --insecure`), so its RSS and CPU are its own.
 *
 * Rows: idle (no agent: the baseline), then each agent count. Latency is the client-side round trip
 * of Heartbeat (p50, p99, max) over every beat of the window; RSS is the coordinator's VmRSS at the
 * end of the window and VmHWM (peak); CPU is the coordinator's utime+stime over the window, as a
 * percentage of one core. Ratios are against the idle row (CPU, RSS) of the same run. Note that the
 * agents run in this one process: at high counts its own event loop adds to the latency measured.
 *
 * Run: npx tsx bench/load.ts [agents=100,500] [seconds=20] [intervalMs=1500]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { channelOptions, medfclProto } from "../services/transport/index.js";
import { call } from "../site-agent/client.js";
import type { SiteServiceClient } from "../generated/medfcl/v1/SiteService.js";

const repo = join(fileURLToPath(import.meta.url), "..", "..");
const counts = (process.argv[2] ?? "100,500").split(",").map(Number);
const seconds = Number(process.argv[3] ?? "20");
const intervalMs = Number(process.argv[4] ?? "1500");
if (!counts.every((n) => Number.isInteger(n) && n > 0) || !(seconds > 0) || !(intervalMs > 0)) {
  process.stderr.write("usage: npx tsx bench/load.ts [agents=100,500] [seconds=20] [intervalMs=1500]\n");
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
}

async function measure(address: string, pid: number, agents: number): Promise<Row> {
  const clients: SiteServiceClient[] = [];
  const sessions: string[] = [];
  const manifest = (i: number) => ({ domain: `load-${i}`, task: "polyp", num_images: 10, num_annotations: 10, categories: [{ id: 1, name: "polyp", prompt: { prefix: "", name: "polyp", suffix: "" } }], annotations_sha256: "0".repeat(64), num_shareable: 0 });
  for (let i = 0; i < agents; i++) {
    // A local subchannel pool gives each agent its own connection, as separate sites would have.
    clients.push(new (medfclProto().medfcl.v1.SiteService)(address, grpc.credentials.createInsecure(), { ...channelOptions(), "grpc.use_local_subchannel_pool": 1 }) as SiteServiceClient);
  }
  await Promise.all(
    clients.map(async (c, i) => {
      for (let attempt = 0; ; attempt++) {
        try {
          sessions[i] = (await call<object, { session_id: string }>(c.Register.bind(c), { site_id: `load-site-${agents}-${i}`, agent_version: "bench", manifest: manifest(i), backend: "wasm" }, 30_000)).session_id;
          return;
        } catch (err) {
          if (attempt > 5) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }),
  );
  const latencies: number[] = [];
  let failed = 0;
  const before = procStat(pid);
  const t0 = Date.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    clients.map(async (c, i) => {
      await new Promise((r) => setTimeout(r, Math.random() * intervalMs));
      while (Date.now() < end) {
        const s = performance.now();
        try {
          await call(c.Heartbeat.bind(c), { site_id: `load-site-${agents}-${i}`, session_id: sessions[i], state: "idle", task_id: "", progress: 0, loss: 0 }, 10_000);
          latencies.push(performance.now() - s);
        } catch {
          failed++;
        }
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    }),
  );
  const wall = (Date.now() - t0) / 1000;
  const after = procStat(pid);
  for (const c of clients) c.close();
  latencies.sort((a, b) => a - b);
  return { agents, beats: latencies.length, failed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? Number.NaN, rssMb: after.rssMb, hwmMb: after.hwmMb, cpuPct: (100 * (after.cpuSec - before.cpuSec)) / wall };
}

async function idle(pid: number): Promise<Row> {
  const before = procStat(pid);
  await new Promise((r) => setTimeout(r, Math.min(seconds, 10) * 1000));
  const after = procStat(pid);
  return { agents: 0, beats: 0, failed: 0, p50: Number.NaN, p99: Number.NaN, max: Number.NaN, rssMb: after.rssMb, hwmMb: after.hwmMb, cpuPct: (100 * (after.cpuSec - before.cpuSec)) / Math.min(seconds, 10) };
}

const coord = await startCoordinator();
try {
  const rows = [await idle(coord.pid)];
  for (const n of counts) rows.push(await measure(coord.address, coord.pid, n));
  const base = rows[0];
  const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : "-");
  process.stdout.write(`\nheartbeat load: ${seconds} s per row, one beat per agent every ${intervalMs} ms; coordinator pid ${coord.pid}\n\n`);
  process.stdout.write("| agents | beats | failed | p50 ms | p99 ms | max ms | coord RSS MB (× idle) | coord peak MB | coord CPU % of a core (− idle) |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const r of rows) {
    process.stdout.write(`| ${r.agents} | ${r.beats} | ${r.failed} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} | ${f(r.rssMb, 0)} (${f(r.rssMb / base.rssMb, 2)}) | ${f(r.hwmMb, 0)} | ${f(r.cpuPct)} (${r.agents ? `+${f(r.cpuPct - base.cpuPct)}` : "-"}) |\n`);
  }
} finally {
  coord.stop();
}
