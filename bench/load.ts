/**
 * Load benchmark (issue 18): many simulated site agents against one coordinator, over real gRPC on
 * loopback. Each agent has its own connection, as separate hospitals would, registers (grpc-js),
 * then heartbeats every `intervalMs` (with a random phase) for `seconds`, by default over a plain
 * HTTP/2 client that sends grpc-js's bytes (h2Heartbeat below; MEDFCL_LOAD_CLIENTS=grpc-js or
 * h2,grpc-js measures the grpc-js client too). The coordinator
 * is a separate process (`medfcl coordinator --insecure`), so its RSS and CPU are its own.
 *
 * Rows: idle (no agent: the baseline), then each agent count. Latency is the client-side round trip
 * of Heartbeat (p50, p99, max) over every beat of the window, which opens after every agent has
 * registered and beaten once (one interval of warm-up by default); RSS is the coordinator's VmRSS at the
 * end of the window and VmHWM (peak); CPU is the coordinator's utime+stime over the window, as a
 * percentage of one core. Ratios are against the idle row (CPU, RSS) of the same run; RSS per agent
 * is (RSS − idle RSS) / agents. The agents run in client processes of 250 each (this file with
 * --client), so that no single client event loop with 1,000 channels is what gets measured.
 *
 * Run: npx tsx bench/load.ts [agents=100,500,1000] [seconds=20] [intervalMs=1500]
 * Environment: MEDFCL_LOAD_CLIENTS (h2 | grpc-js | both, comma-separated), MEDFCL_LOAD_WARMUP_MS
 * (untimed beating before the window), MEDFCL_LOAD_PIN=0 (no CPU pinning, below), MEDFCL_LOAD_COORDINATOR_NODE_ARGS and
 * MEDFCL_LOAD_CLIENT_NODE_ARGS (node flags for one side, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"),
 * MEDFCL_LOAD_COORDINATOR_LOG=FILE (the coordinator's log).
 */
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { monitorEventLoopDelay } from "node:perf_hooks";
import * as grpc from "@grpc/grpc-js";
import type { MethodDefinition } from "@grpc/grpc-js";
import http2, { type ClientHttp2Session } from "node:http2";
import { channelOptions, medfclProto } from "../services/transport/index.js";
import { call } from "../site-agent/client.js";
import type { SiteServiceClient } from "../generated/medfcl/v1/SiteService.js";

const repo = join(fileURLToPath(import.meta.url), "..", "..");
const clientMode = process.argv[2] === "--client";
const counts = clientMode ? [] : (process.argv[2] ?? "100,500,1000").split(",").map(Number);
const seconds = clientMode ? 1 : Number(process.argv[3] ?? "20");
const intervalMs = Number(clientMode ? process.argv[9] : (process.argv[4] ?? "1500"));
/** Untimed beating before the window (MEDFCL_LOAD_WARMUP_MS; default one heartbeat interval). */
const warmupMs = (): number => Number(process.env.MEDFCL_LOAD_WARMUP_MS ?? intervalMs);
type ClientKind = "h2" | "grpc-js";
const CLIENT_KINDS: readonly ClientKind[] = ["h2", "grpc-js"];
/** In a client process: how it sends heartbeats. In the bench: each agent count is measured once per kind listed. */
const clientKind = process.argv[10] as ClientKind;
const kinds = (process.env.MEDFCL_LOAD_CLIENTS ?? "h2").split(",") as ClientKind[];
/** The h2 clients' connections, closed when the slice ends (declared before the client mode runs). */
const h2Sessions: ClientHttp2Session[] = [];
if (clientMode) {
  const [address, total, from, to, startAt, endAt] = process.argv.slice(3, 9);
  process.stdout.write(JSON.stringify(await runSlice(address, Number(total), Number(from), Number(to), Number(startAt), Number(endAt))));
  process.exit(0);
}
if (!counts.every((n) => Number.isInteger(n) && n > 0) || !(seconds > 0) || !(intervalMs > 0) || !kinds.every((k) => CLIENT_KINDS.includes(k))) {
  process.stderr.write(`usage: [MEDFCL_LOAD_CLIENTS=${CLIENT_KINDS.join(",")}] npx tsx bench/load.ts [agents=100,500,1000] [seconds=20] [intervalMs=1500]\n`);
  process.exit(2);
}

/**
 * Real agents run at the hospitals, not on the coordinator's machine. Here they share its cores, so
 * the coordinator gets CPU 0 to itself and the clients the other CPUs (taskset; MEDFCL_LOAD_PIN=0
 * turns it off): a burst of client work then delays the clients, not the coordinator's answers, and
 * the coordinator is measured on one core, which is the stricter case.
 */
const cpuCount = availableParallelism();
const pin = process.env.MEDFCL_LOAD_PIN !== "0" && cpuCount >= 2 && existsSync("/usr/bin/taskset");
const COORDINATOR_CPUS = "0";
const CLIENT_CPUS = `1-${cpuCount - 1}`;
function pinned(cpus: string, cmd: string, args: string[]): [string, string[]] {
  return pin ? ["/usr/bin/taskset", ["-c", cpus, cmd, ...args]] : [cmd, args];
}

/** Extra node flags from a space-separated variable (profiling one side: `--cpu-prof --cpu-prof-dir=DIR`). */
const nodeArgsOf = (variable: string): string[] => (process.env[variable] ?? "").split(" ").filter(Boolean);

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
  const proc = spawn(...pinned(COORDINATOR_CPUS, process.execPath, [...nodeArgsOf("MEDFCL_LOAD_COORDINATOR_NODE_ARGS"), "--import", "tsx", join(repo, "cli", "main.ts"), "--log-level", "info", "coordinator", "--insecure", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--state-dir", state]), {
    cwd: repo,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  return new Promise((resolve, reject) => {
    const logTo = process.env.MEDFCL_LOAD_COORDINATOR_LOG;
    proc.stderr!.on("data", (d: Buffer) => {
      if (logTo) appendFileSync(logTo, d);
      err += d.toString();
      const m = /"grpc":"([^"]+)"/.exec(err);
      if (m) {
        resolve({
          pid: proc.pid!,
          address: m[1],
          stop: () => {
            proc.once("exit", () => rmSync(state, { recursive: true, force: true }));
            proc.kill("SIGTERM");
          },
        });
      }
    });
    proc.on("exit", (code) => reject(new Error(`coordinator exited ${code}: ${err}`)));
  });
}

const percentile = (sorted: number[], p: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : Number.NaN);

interface Row {
  agents: number;
  client: ClientKind | "-";
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
  /** All client processes together, % of one core over the window. */
  clientCpuPct: number;
}

interface SliceResult {
  latencies: number[];
  failed: number;
  /** The client process's own event-loop delay over the window (ms): latency it adds, not the coordinator's. */
  loopP99: number;
  loopMax: number;
  /** CPU seconds the client process spent in the window (user + system). */
  cpuSec: number;
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
  const warmupAt = startAt - warmupMs();
  if (Date.now() > warmupAt) throw new Error(`registering ${to - from} agents took past the window's start; give the bench more time`);
  await new Promise((r) => setTimeout(r, warmupAt - Date.now()));
  const latencies: number[] = [];
  let failed = 0;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  let cpuAtStart = process.cpuUsage();
  setTimeout(() => {
    loop.enable();
    cpuAtStart = process.cpuUsage();
  }, Math.max(0, startAt - Date.now()));
  const heartbeats = clients.map((c): Heartbeat => (clientKind === "h2" ? h2Heartbeat(address) : (req) => call<HeartbeatRequest, HeartbeatResponse>(c.Heartbeat.bind(c), req, 10_000)));
  if (clientKind === "h2") for (const c of clients) c.close();
  await Promise.all(
    heartbeats.map(async (heartbeat, k) => {
      await new Promise((r) => setTimeout(r, Math.random() * intervalMs));
      while (Date.now() < endAt) {
        const timed = Date.now() >= startAt;
        const s = performance.now();
        try {
          const res = await heartbeat({ site_id: siteId(from + k), session_id: sessions[k], state: "idle", task_id: "", progress: 0, loss: 0 });
          // A beat answered "register again" took the short path: it does not count as served.
          if (res.reregister) throw new Error("the coordinator asked the agent to register again");
          if (timed) latencies.push(performance.now() - s);
        } catch {
          if (timed) failed++;
        }
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    }),
  );
  loop.disable();
  const cpu = process.cpuUsage(cpuAtStart);
  if (clientKind === "grpc-js") for (const c of clients) c.close();
  for (const s of h2Sessions) s.close();
  return { latencies, failed, loopP99: loop.percentile(99) / 1e6, loopMax: loop.max / 1e6, cpuSec: (cpu.user + cpu.system) / 1e6 };
}

interface HeartbeatRequest {
  site_id: string;
  session_id: string;
  state: string;
  task_id: string;
  progress: number;
  loss: number;
}
interface HeartbeatResponse {
  reregister: boolean;
}
type Heartbeat = (req: HeartbeatRequest) => Promise<HeartbeatResponse>;

/**
 * One agent's Heartbeat on its own HTTP/2 connection, as the same gRPC bytes grpc-js sends (a 5-byte
 * length prefix, the protobuf message, grpc-status in the trailers), without grpc-js's per-call client
 * stack: that stack costs the client processes ~0.7 ms of CPU per call, and on a 2-core machine the
 * clients' CPU bursts and GC pauses, not the coordinator, set the p99 (compare MEDFCL_LOAD_CLIENTS=grpc-js).
 */
function h2Heartbeat(address: string): Heartbeat {
  const method = (medfclProto().medfcl.v1.SiteService as unknown as { service: Record<string, MethodDefinition<HeartbeatRequest, HeartbeatResponse>> }).service.Heartbeat;
  const session = http2.connect(`http://${address}`);
  session.on("error", () => undefined);
  h2Sessions.push(session);
  return (req) =>
    new Promise((resolve, reject) => {
      const body = method.requestSerialize(req);
      const frame = Buffer.alloc(5 + body.length);
      frame.writeUInt32BE(body.length, 1);
      body.copy(frame, 5);
      const stream = session.request({ ":method": "POST", ":path": method.path, "content-type": "application/grpc", te: "trailers" });
      const chunks: Buffer[] = [];
      let grpcStatus: unknown;
      stream.on("response", (h) => (grpcStatus = h["grpc-status"] ?? grpcStatus));
      stream.on("trailers", (t) => (grpcStatus = t["grpc-status"]));
      stream.on("data", (d: Buffer) => chunks.push(d));
      stream.on("error", reject);
      stream.setTimeout(10_000, () => stream.close(http2.constants.NGHTTP2_CANCEL));
      stream.on("close", () => {
        const data = Buffer.concat(chunks);
        if (String(grpcStatus) !== "0" || data.length < 5) return reject(new Error(`Heartbeat failed: grpc-status ${String(grpcStatus)}`));
        resolve(method.responseDeserialize(data.subarray(5, 5 + data.readUInt32BE(1))));
      });
      stream.end(frame);
    });
}

/** Agents per client process: one Node event loop answering 1,000 channels would measure itself, not the coordinator. */
const AGENTS_PER_CLIENT = 250;

async function measure(address: string, pid: number, agents: number, kind: ClientKind): Promise<Row> {
  const registerMs = 15_000 + agents * 20 + warmupMs();
  const before = { at: 0, stat: procStat(pid) };
  const startAt = Date.now() + registerMs;
  const endAt = startAt + seconds * 1000;
  const slices: Promise<SliceResult>[] = [];
  for (let from = 0; from < agents; from += AGENTS_PER_CLIENT) {
    const to = Math.min(agents, from + AGENTS_PER_CLIENT);
    const child = spawn(...pinned(CLIENT_CPUS, process.execPath, [...nodeArgsOf("MEDFCL_LOAD_CLIENT_NODE_ARGS"), "--import", "tsx", fileURLToPath(import.meta.url), "--client", address, String(agents), String(from), String(to), String(startAt), String(endAt), String(intervalMs), kind]), { cwd: repo, stdio: ["ignore", "pipe", "inherit"] });
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
  return { agents, client: kind, beats: latencies.length, failed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? Number.NaN, rssMb: after.rssMb, hwmMb: after.hwmMb, cpuPct: (100 * (after.cpuSec - before.stat.cpuSec)) / wall, clientLoopP99: Math.max(...results.map((r) => r.loopP99)), clientLoopMax: Math.max(...results.map((r) => r.loopMax)), clientCpuPct: (100 * results.reduce((a, r) => a + r.cpuSec, 0)) / seconds };
}

async function idle(pid: number): Promise<Row> {
  const before = procStat(pid);
  await new Promise((r) => setTimeout(r, Math.min(seconds, 10) * 1000));
  const after = procStat(pid);
  return { agents: 0, client: "-", beats: 0, failed: 0, p50: Number.NaN, p99: Number.NaN, max: Number.NaN, rssMb: after.rssMb, hwmMb: after.hwmMb, cpuPct: (100 * (after.cpuSec - before.cpuSec)) / Math.min(seconds, 10), clientLoopP99: Number.NaN, clientLoopMax: Number.NaN, clientCpuPct: Number.NaN };
}

const coord = await startCoordinator();
try {
  const rows = [await idle(coord.pid)];
  for (const n of counts) for (const kind of kinds) rows.push(await measure(coord.address, coord.pid, n, kind));
  const base = rows[0];
  const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : "-");
  process.stdout.write(`\nheartbeat load: ${seconds} s per row, one beat per agent every ${intervalMs} ms; coordinator pid ${coord.pid}; ${pin ? `coordinator on CPU ${COORDINATOR_CPUS}, clients on CPUs ${CLIENT_CPUS}` : "no CPU pinning"}\n\n`);
  process.stdout.write("| agents | client | beats | failed | p50 ms | p99 ms | max ms | coord RSS MB (× idle) | RSS KiB per agent (over idle) | coord peak MB | coord CPU % of a core (− idle) | client loop delay p99 / max ms | clients CPU % of a core |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const r of rows) {
    const perAgent = r.agents ? f(((r.rssMb - base.rssMb) * 1024) / r.agents) : "-";
    process.stdout.write(`| ${r.agents} | ${r.client} | ${r.beats} | ${r.failed} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} | ${f(r.rssMb, 0)} (${f(r.rssMb / base.rssMb, 2)}) | ${perAgent} | ${f(r.hwmMb, 0)} | ${f(r.cpuPct)} (${r.agents ? `+${f(r.cpuPct - base.cpuPct)}` : "-"}) | ${f(r.clientLoopP99)} / ${f(r.clientLoopMax)} | ${f(r.clientCpuPct)} |\n`);
  }
} finally {
  coord.stop();
}
