/**
 * Transfer benchmark (issue 5, item 4): PullModel and PushUpdate over the real coordinator, against
 * a raw loopback socket moving the same bytes in the same run, with plaintext gRPC and with mTLS.
 *
 * Setup. The coordinator runs in a child process (this file, forked with MEDFCL_TRANSFER_ROLE set),
 * the site client in this process, so each end's peak RSS is its own. The payload is a real model:
 * the `small` preset with its text embedding widened (oovBuckets) until the checkpoint is the target
 * size. The coordinator stores it as a model version, and a task row for the bench site starts from
 * it, which is what entitles the site to pull it. The pushed delta is a real fp32 delta of that
 * model (small seeded values), so PushUpdate runs the whole production path: stream into the blob
 * store (hash, fsync, rename) while each tensor is checked as its bytes arrive (shapes against the
 * base layout, finiteness, the norm bound), record it, and answer "accepted". Push time is therefore transfer + storage +
 * validation; the "validate" line says how much of it the validation alone costs (the same checks
 * re-run inside the coordinator process on the stored blobs).
 *
 * Rows: raw (net.Socket or tls.Socket, 1 MiB writes, receiver discards/counts), raw-store (the same
 * socket, but the receiver is the coordinator's receiveUpdate: everything a push does but gRPC), pull (pullModel
 * from site-agent/client.ts: into a file, sha256 verified), pull-stream (the PullModel stream,
 * bytes counted and discarded), push (pushUpdate, until the response). Each row is the median of
 * `reps` runs, interleaved. Peak RSS is VmHWM, reset (clear_refs 5, after a GC) right before each
 * transfer; the number in brackets is the growth over the RSS at that reset. CPU is each process's
 * process.cpuUsage over the transfer (all threads), the steadier number on a shared machine.
 *
 * Run: npx tsx bench/transfer.ts [sizesMiB=64,256] [reps=3]
 * Profile the coordinator end: MEDFCL_TRANSFER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" (flags for the child).
 * Only some rows: MEDFCL_TRANSFER_ROWS=raw-push,push (of raw-pull, pull, pull-stream, raw-push, raw-store, push).
 * Push chunk sizes: MEDFCL_TRANSFER_PUSH_CHUNKS=256,1024,4096 (KiB, one push row each; default 1024).
 */
import { fork, type ChildProcess } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { startCoordinator, type RunningCoordinator } from "../coordinator/index.js";
import { checkDeltaFacts } from "../coordinator/validation.js";
import { receiveUpdate } from "../coordinator/site-service.js";
import { defaultHyper } from "../coordinator/admin-service.js";
import * as store from "../coordinator/store/index.js";
import { detectorModelOps } from "../coordinator/model-ops-detector.js";
import { coordinatorSchema } from "../services/config/index.js";
import { mulberry32 } from "../services/data/index.js";
import { silentLogger } from "../services/log/index.js";
import { writeFileAtomic } from "../services/store/index.js";
import { checkpointBytes, encodeDelta, initWeights, modelConfig, paramSpecs, type ModelConfig } from "../services/model/index.js";
import type { TensorMap } from "../services/tensors/index.js";
import { createCertificateAuthority, issueCoordinatorCertificate, issueSiteCertificate } from "../services/transport/index.js";
import { call, createSiteClient, pullModel, pushUpdate } from "../site-agent/client.js";
import type { SiteServiceClient } from "../generated/medfcl/v1/SiteService.js";
import type { UpdateHeader__Output } from "../generated/medfcl/v1/UpdateHeader.js";

const ROLE_ENV = "MEDFCL_TRANSFER_ROLE";
const MiB = 1024 * 1024;
const SITE = "bench-site";
const WRITE_BYTES = MiB;

type Transport = "plaintext" | "mtls";
const TRANSPORTS: Transport[] = ["plaintext", "mtls"];

// ---- memory ---------------------------------------------------------------------------------------

v8.setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function procStatusKiB(field: "VmHWM" | "VmRSS"): number {
  const m = readFileSync("/proc/self/status", "utf8").match(new RegExp(`${field}:\\s+(\\d+)`));
  return m ? Number(m[1]) : NaN;
}

let cpuMark = process.cpuUsage();

/** GC, then reset this process's peak RSS to its current RSS and mark its CPU clock; returns the RSS in MiB. */
function resetPeak(): number {
  gc();
  gc();
  writeFileSync("/proc/self/clear_refs", "5");
  cpuMark = process.cpuUsage();
  return procStatusKiB("VmRSS") / 1024;
}

/** Peak RSS (MiB) and CPU ms (all threads, user + system) since the last resetPeak. */
function readPeak(): { peak: number; cpuMs: number } {
  const cpu = process.cpuUsage(cpuMark);
  return { peak: procStatusKiB("VmHWM") / 1024, cpuMs: (cpu.user + cpu.system) / 1000 };
}

// ---- the payload model ----------------------------------------------------------------------------

/** The `small` preset with a token embedding wide enough that the checkpoint is about `bytes`. */
function benchConfig(bytes: number): ModelConfig {
  const count = (cfg: ModelConfig): number => paramSpecs(cfg).reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  const base = modelConfig("small", { oovBuckets: 0 });
  const oov = Math.max(0, Math.round((bytes / 4 - count(base)) / base.textDim));
  return modelConfig("small", { oovBuckets: oov });
}

/** A real fp32 delta for the model: seeded values of order 1e-3 (norm well inside the bound). */
function benchDelta(cfg: ModelConfig, seed: number): { bytes: Buffer; manifest: { name: string; dtype: string; shape: number[] }[] } {
  const rng = mulberry32(seed);
  const delta: TensorMap = new Map();
  for (const s of paramSpecs(cfg)) {
    const data = new Float32Array(s.shape.reduce((x, y) => x * y, 1));
    for (let i = 0; i < data.length; i++) data[i] = (rng() - 0.5) * 2e-3;
    delta.set(s.name, { dtype: "float32", shape: s.shape, data });
  }
  const manifest = [...delta].map(([name, t]) => ({ name, dtype: "F32", shape: [...t.shape] }));
  return { bytes: encodeDelta(delta, "fp32", { producer: "bench/transfer" }), manifest };
}

// ---- raw socket protocol --------------------------------------------------------------------------
// One op byte: 'G' = the server streams the payload file and closes; 'P' = the client streams bytes,
// half-closes, and the server answers with the byte count (8 bytes LE) once it has them all.
// 'S' = the same as 'P', preceded by a 4-byte BE length and an UpdateHeader as JSON, and the bytes go
// through the coordinator's receiveUpdate (blob store: sha256, write, fsync, rename; the delta scanned
// as it streams; the update recorded) instead of being counted: the push without gRPC.

const OP_GET = 0x47;
const OP_PUT = 0x50;
const OP_STORE = 0x53;

type StoreUpload = (header: UpdateHeader__Output, chunks: AsyncIterable<Buffer>) => Promise<void>;

/** 'S': the header from the stream, then the rest of the stream as the update's bytes. */
async function serveStore(socket: net.Socket, store: StoreUpload): Promise<void> {
  // The reply goes out after the store finishes: the socket must outlive the end of its input
  // (allowHalfOpen on the servers, and an iterator that does not destroy it).
  const it = socket.iterator({ destroyOnReturn: false }) as AsyncIterator<Buffer>;
  let pending = Buffer.alloc(0);
  while (pending.length < 4 || pending.length < 4 + pending.readUInt32BE(0)) {
    const r = await it.next();
    if (r.done) throw new Error("raw store: stream ended inside the header");
    pending = Buffer.concat([pending, r.value]);
  }
  const headerEnd = 4 + pending.readUInt32BE(0);
  const header = JSON.parse(pending.subarray(4, headerEnd).toString("utf8")) as UpdateHeader__Output;
  const first = pending.subarray(headerEnd);
  let received = first.length;
  async function* rest(): AsyncGenerator<Buffer> {
    if (first.length) yield first;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      received += r.value.length;
      yield r.value;
    }
  }
  await store(header, rest());
  const reply = Buffer.alloc(8);
  reply.writeBigUInt64LE(BigInt(received));
  socket.end(reply);
}

function rawHandler(payloadPath: () => string, store: StoreUpload) {
  return (socket: net.Socket): void => {
    let op = -1;
    let received = 0;
    socket.on("error", () => socket.destroy());
    socket.on("data", (buf: Buffer) => {
      if (op < 0) {
        op = buf[0];
        if (op === OP_GET) {
          createReadStream(payloadPath(), { highWaterMark: WRITE_BYTES }).pipe(socket);
          return;
        }
        if (op === OP_STORE) {
          socket.removeAllListeners("data");
          socket.removeAllListeners("end");
          socket.pause();
          socket.unshift(buf.subarray(1));
          serveStore(socket, store).catch((err: unknown) => {
            process.stderr.write(`[transfer] raw store failed: ${(err as Error).message}\n`);
            socket.destroy();
          });
          return;
        }
        received += buf.length - 1;
        return;
      }
      received += buf.length;
    });
    socket.on("end", () => {
      if (op !== OP_PUT) return;
      const reply = Buffer.alloc(8);
      reply.writeBigUInt64LE(BigInt(received));
      socket.end(reply);
    });
  };
}

interface RawTarget {
  port: number;
  tls?: { ca: string; cert: string; key: string };
}

function rawConnect(t: RawTarget): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = t.tls
      ? tls.connect({ host: "127.0.0.1", port: t.port, servername: "localhost", ca: t.tls.ca, cert: t.tls.cert, key: t.tls.key }, () => resolve(s))
      : net.connect({ host: "127.0.0.1", port: t.port }, () => resolve(s));
    s.once("error", reject);
  });
}

async function rawPull(t: RawTarget, expected: number): Promise<void> {
  const s = await rawConnect(t);
  await new Promise<void>((resolve, reject) => {
    let n = 0;
    s.on("data", (b: Buffer) => (n += b.length));
    s.on("error", reject);
    s.on("end", () => (n === expected ? resolve() : reject(new Error(`raw pull got ${n} of ${expected} bytes`))));
    s.write(Buffer.from([OP_GET]));
  });
  s.destroy();
}

async function rawPush(t: RawTarget, bytes: Buffer, header?: object): Promise<void> {
  const s = await rawConnect(t);
  const reply = new Promise<void>((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on("data", (b: Buffer) => parts.push(b));
    s.on("error", reject);
    s.on("end", () => {
      const n = Number(Buffer.concat(parts).readBigUInt64LE(0));
      if (n === bytes.length) resolve();
      else reject(new Error(`raw push: server counted ${n} of ${bytes.length} bytes`));
    });
  });
  if (header) {
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(json.length);
    s.write(Buffer.concat([Buffer.from([OP_STORE]), len, json]));
  } else s.write(Buffer.from([OP_PUT]));
  for (let off = 0; off < bytes.length; off += WRITE_BYTES) {
    if (!s.write(bytes.subarray(off, off + WRITE_BYTES))) await new Promise((r) => s.once("drain", r));
  }
  s.end();
  await reply;
  s.destroy();
}

// ---- coordinator process --------------------------------------------------------------------------

type Request =
  | { op: "init"; pki: { ca: string; cert: string; key: string } }
  | { op: "prepare"; bytes: number }
  | { op: "task"; transport: Transport; version: string }
  | { op: "reset" }
  | { op: "peak" }
  | { op: "validate"; version: string; update: string }
  | { op: "floor"; version: string; update: string }
  | { op: "stop" };

interface InitResult {
  grpc: Record<Transport, string>;
  raw: Record<Transport, number>;
}

async function coordinatorMain(): Promise<void> {
  const coords = new Map<Transport, RunningCoordinator>();
  const servers: net.Server[] = [];
  let payloadPath = "";

  const listen = (server: net.Server): Promise<number> =>
    new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)));

  const handle = async (req: Request): Promise<unknown> => {
    switch (req.op) {
      case "init": {
        const base = { listen: "127.0.0.1:0", httpListen: "127.0.0.1:0", taskDeadlineMs: 3_600_000 };
        const plain = coordinatorSchema.parse({ ...base, stateDir: mkdtempSync(join(tmpdir(), "medfcl-bench-coord-")), insecure: true });
        const secure = coordinatorSchema.parse({ ...base, stateDir: mkdtempSync(join(tmpdir(), "medfcl-bench-coord-")), insecure: false, tls: req.pki });
        coords.set("plaintext", await startCoordinator(plain, silentLogger(), detectorModelOps()));
        coords.set("mtls", await startCoordinator(secure, silentLogger(), detectorModelOps()));
        const storeInto =
          (t: Transport): StoreUpload =>
          async (header, chunks) => {
            const res = await receiveUpdate(coords.get(t)!.ctx, SITE, header, chunks);
            if (!res.accepted) throw new Error("raw store: update not accepted");
          };
        const rawPlain = net.createServer({ allowHalfOpen: true }, rawHandler(() => payloadPath, storeInto("plaintext")));
        const pem = (p: string): Buffer => readFileSync(p);
        const rawTls = tls.createServer(
          { ca: pem(req.pki.ca), cert: pem(req.pki.cert), key: pem(req.pki.key), requestCert: true, rejectUnauthorized: true, allowHalfOpen: true },
          rawHandler(() => payloadPath, storeInto("mtls")),
        );
        servers.push(rawPlain, rawTls);
        const result: InitResult = {
          grpc: { plaintext: coords.get("plaintext")!.address, mtls: coords.get("mtls")!.address },
          raw: { plaintext: await listen(rawPlain), mtls: await listen(rawTls) },
        };
        return result;
      }
      case "prepare": {
        const cfg = benchConfig(req.bytes);
        let bytes: Buffer | null = checkpointBytes(cfg, initWeights(cfg, 1), { createdBy: "bench/transfer" });
        let version = "";
        for (const c of coords.values()) version = c.ctx.blobs.put(bytes);
        payloadPath = coords.get("plaintext")!.ctx.blobs.pathOf(version);
        const size = bytes.length;
        bytes = null;
        return { version, size, oovBuckets: cfg.oovBuckets };
      }
      case "task": {
        const ctx = coords.get(req.transport)!.ctx;
        const taskId = randomUUID();
        store.insertTask(ctx.db, {
          taskId,
          runId: "bench-transfer",
          step: 0,
          round: 0,
          siteId: SITE,
          state: "assigned",
          spec: { hyper: defaultHyper("small"), exemplarIds: [], exemplarsWanted: 0, exemplarSampler: "random", shots: 0, shotsSelection: "random", deltaEncoding: "fp32", strategy: "bench" },
          baseVersion: req.version,
          deadline: new Date(Date.now() + 3_600_000).toISOString(),
        });
        return taskId;
      }
      case "reset":
        return resetPeak();
      case "peak":
        return readPeak();
      case "validate": {
        // The same work receiveUpdate does on the bytes, timed on its own: the base layout from its
        // header, and the delta scanned tensor by tensor from its blob file.
        const ctx = coords.get("plaintext")!.ctx;
        const t0 = performance.now();
        const cpu0 = process.cpuUsage();
        const layout = ctx.models.layoutOf(ctx.blobs.pathOf(req.version));
        const scanner = ctx.models.deltaScanner(ctx.blobs.size(req.update), layout);
        for await (const piece of ctx.blobs.readRange(req.update, 0, ctx.blobs.size(req.update))) scanner.push(piece);
        checkDeltaFacts(layout, scanner.finish(), ctx.config.updateNormBound);
        const cpu = process.cpuUsage(cpu0);
        return { ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 };
      }
      case "floor": {
        // The per-byte work of every push, one part at a time on bytes already in memory: what no
        // transport can avoid. sha256 (the update's name), the write + fsync of the staging file
        // (1 MiB writes), and the delta scan with its checks.
        const ctx = coords.get("plaintext")!.ctx;
        const bytes = readFileSync(ctx.blobs.pathOf(req.update));
        const piece = (i: number): Buffer => bytes.subarray(i * WRITE_BYTES, (i + 1) * WRITE_BYTES);
        const pieces = Math.ceil(bytes.length / WRITE_BYTES);
        // The fastest of three runs: the least disturbed by the rest of the machine.
        const timed = async (fn: () => unknown): Promise<number> => {
          let best = Infinity;
          for (let k = 0; k < 3; k++) {
            const t0 = performance.now();
            await fn();
            best = Math.min(best, performance.now() - t0);
          }
          return best;
        };
        const hashMs = await timed(() => {
          const h = createHash("sha256");
          for (let i = 0; i < pieces; i++) h.update(piece(i));
          h.digest();
        });
        const target = join(ctx.config.stateDir, "bench-floor.bin");
        const writeMs = await timed(() =>
          writeFileAtomic(
            target,
            (async function* () {
              for (let i = 0; i < pieces; i++) yield piece(i);
            })(),
          ),
        );
        rmSync(target, { force: true });
        const layout = ctx.models.layoutOf(ctx.blobs.pathOf(req.version));
        const scanMs = await timed(() => {
          const scanner = ctx.models.deltaScanner(bytes.length, layout);
          for (let i = 0; i < pieces; i++) scanner.push(piece(i));
          checkDeltaFacts(layout, scanner.finish(), ctx.config.updateNormBound);
        });
        return { hashMs, writeMs, scanMs };
      }
      case "stop":
        for (const c of coords.values()) await c.close();
        for (const s of servers) s.close();
        for (const c of coords.values()) rmSync(c.ctx.config.stateDir, { recursive: true, force: true });
        setImmediate(() => process.exit(0));
        return null;
    }
  };

  process.on("message", (msg: { id: number; req: Request }) => {
    handle(msg.req).then(
      (result) => process.send!({ id: msg.id, ok: true, result }),
      (err: unknown) => process.send!({ id: msg.id, ok: false, error: (err as Error).stack ?? String(err) }),
    );
  });
  // The bench process died or finished without "stop": do not linger holding ports and temp dirs.
  process.on("disconnect", () => {
    for (const c of coords.values()) rmSync(c.ctx.config.stateDir, { recursive: true, force: true });
    process.exit(1);
  });
  process.send!({ id: 0, ok: true, result: "ready" });
}

// ---- bench process --------------------------------------------------------------------------------

class Child {
  private next = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly ready: Promise<void>;

  constructor(readonly proc: ChildProcess) {
    let onReady: () => void = () => undefined;
    this.ready = new Promise((r) => (onReady = r));
    proc.on("message", (msg: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      if (msg.id === 0) return onReady();
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.ok) p?.resolve(msg.result);
      else p?.reject(new Error(`coordinator process: ${msg.error}`));
    });
    proc.on("exit", (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`coordinator process exited with ${code}`));
      this.pending.clear();
    });
  }

  request<T>(req: Request): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, req });
    });
  }
}

interface Sample {
  ms: number;
  clientCpuMs: number;
  coordCpuMs: number;
  clientPeak: number;
  clientGrowth: number;
  coordPeak: number;
  coordGrowth: number;
}

interface Row {
  transport: Transport;
  direction: "raw-pull" | "pull" | "pull-stream" | "raw-push" | "raw-store" | "push";
  /** Push: the chunk (gRPC message payload) size in KiB. */
  chunkKiB?: number;
  bytes: number;
  samples: Sample[];
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function measure(child: Child, fn: () => Promise<void>): Promise<Sample> {
  const coordBase = await child.request<number>({ op: "reset" });
  const clientBase = resetPeak();
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  const client = readPeak();
  const coord = await child.request<{ peak: number; cpuMs: number }>({ op: "peak" });
  return {
    ms,
    clientCpuMs: client.cpuMs,
    coordCpuMs: coord.cpuMs,
    clientPeak: client.peak,
    clientGrowth: client.peak - clientBase,
    coordPeak: coord.peak,
    coordGrowth: coord.peak - coordBase,
  };
}

function pullStream(client: SiteServiceClient, version: string, expected: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let n = 0;
    const stream = client.PullModel({ site_id: SITE, version, offset: 0, chunk_bytes: WRITE_BYTES });
    stream.on("data", (msg: { chunk: { data: Buffer } | null }) => (n += msg.chunk?.data.length ?? 0));
    stream.on("error", reject);
    stream.on("end", () => (n === expected ? resolve() : reject(new Error(`pull-stream got ${n} of ${expected} bytes`))));
  });
}

const log = (msg: string): void => void process.stderr.write(`[transfer] ${msg}\n`);

async function benchMain(): Promise<void> {
  const sizes = (process.argv[2] ?? "64,256").split(",").map(Number);
  const reps = Number(process.argv[3] ?? 3);
  const only = (process.env.MEDFCL_TRANSFER_ROWS ?? "").split(",").filter(Boolean);
  const want = (d: Row["direction"]): boolean => only.length === 0 || only.includes(d);
  const pushChunksKiB = (process.env.MEDFCL_TRANSFER_PUSH_CHUNKS ?? "1024").split(",").map(Number);
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "medfcl-bench-transfer-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  log("issuing certificates (RSA 2048)");
  const ca = createCertificateAuthority({ keyBits: 2048 });
  const server = issueCoordinatorCertificate(ca, ["localhost", "127.0.0.1"], { keyBits: 2048 });
  const site = issueSiteCertificate(ca, SITE, { keyBits: 2048 });
  const pki = { ca: file("ca.crt", ca.certPem), cert: file("coordinator.crt", server.certPem), key: file("coordinator.key", server.keyPem) };
  const sitePki = { ca: pki.ca, cert: file("site.crt", site.certPem), key: file("site.key", site.keyPem) };

  const child = new Child(
    fork(fileURLToPath(import.meta.url), [], { execArgv: ["--import", "tsx", ...(process.env.MEDFCL_TRANSFER_NODE_ARGS ?? "").split(" ").filter(Boolean)], env: { ...process.env, [ROLE_ENV]: "coordinator" }, stdio: ["ignore", "inherit", "inherit", "ipc"] }),
  );
  await child.ready;
  const addr = await child.request<InitResult>({ op: "init", pki });
  const clients: Record<Transport, SiteServiceClient> = {
    plaintext: createSiteClient({ address: addr.grpc.plaintext, insecure: true }),
    mtls: createSiteClient({ address: addr.grpc.mtls, insecure: false, serverName: "localhost", tls: sitePki }),
  };
  const raw: Record<Transport, RawTarget> = {
    plaintext: { port: addr.raw.plaintext },
    mtls: { port: addr.raw.mtls, tls: { ca: ca.certPem, cert: site.certPem, key: site.keyPem } },
  };
  const manifest = {
    domain: "bench",
    task: "polyp",
    num_images: 1,
    num_annotations: 1,
    categories: [{ id: 1, name: "polyp", prompt: { prefix: "", name: "polyp", suffix: "" } }],
    annotations_sha256: "0".repeat(64),
    num_shareable: 0,
  };
  for (const t of TRANSPORTS) await call(clients[t].Register.bind(clients[t]), { site_id: SITE, agent_version: "bench", manifest, backend: "wasm" });

  const results: {
    size: number;
    rows: Row[];
    validate: { ms: number; cpuMs: number } | null;
    floor: { hashMs: number; writeMs: number; scanMs: number } | null;
    oov: number;
    ckpt: number;
    delta: number;
  }[] = [];
  for (const sizeMiB of sizes) {
    log(`${sizeMiB} MiB: building the base checkpoint (coordinator) and a delta (site)`);
    const prep = await child.request<{ version: string; size: number; oovBuckets: number }>({ op: "prepare", bytes: sizeMiB * MiB });
    const cfg = benchConfig(sizeMiB * MiB);
    let delta: ReturnType<typeof benchDelta> | null = benchDelta(cfg, sizeMiB);
    const deltaBytes = delta.bytes;
    const deltaManifest = delta.manifest;
    delta = null;
    const deltaSha = createHash("sha256").update(deltaBytes).digest("hex");
    const rows: Row[] = [];
    const row = (transport: Transport, direction: Row["direction"], bytes: number, chunkKiB?: number): Row => {
      let r = rows.find((x) => x.transport === transport && x.direction === direction && x.chunkKiB === chunkKiB);
      if (!r) rows.push((r = { transport, direction, bytes, chunkKiB, samples: [] }));
      return r;
    };
    for (const t of TRANSPORTS) {
      const client = clients[t];
      await child.request<string>({ op: "task", transport: t, version: prep.version });
      const dest = join(dir, `pulled-${t}.safetensors`);
      for (let rep = 0; rep < reps; rep++) {
        log(`${sizeMiB} MiB ${t} rep ${rep + 1}/${reps}`);
        if (want("raw-pull")) row(t, "raw-pull", prep.size).samples.push(await measure(child, () => rawPull(raw[t], prep.size)));
        if (want("pull")) {
          rmSync(dest, { force: true });
          row(t, "pull", prep.size).samples.push(await measure(child, async () => void (await pullModel(client, SITE, prep.version, dest, { maxAttempts: 1 }))));
          rmSync(dest, { force: true });
        }
        if (want("pull-stream")) row(t, "pull-stream", prep.size).samples.push(await measure(child, () => pullStream(client, prep.version, prep.size)));
        if (want("raw-push")) row(t, "raw-push", deltaBytes.length).samples.push(await measure(child, () => rawPush(raw[t], deltaBytes)));
        const updateHeader = async () => ({
          site_id: SITE,
          task_id: await child.request<string>({ op: "task", transport: t, version: prep.version }),
          base_version: prep.version,
          sha256: deltaSha,
          size: deltaBytes.length,
          manifest: { tensors: deltaManifest },
          encoding: "DELTA_ENCODING_FP32" as const,
          num_samples: 1,
        });
        if (want("raw-store")) {
          const header = await updateHeader();
          row(t, "raw-store", deltaBytes.length).samples.push(await measure(child, () => rawPush(raw[t], deltaBytes, header)));
        }
        if (want("push")) {
          for (const chunkKiB of pushChunksKiB) {
            const header = await updateHeader();
            row(t, "push", deltaBytes.length, chunkKiB).samples.push(
              await measure(child, async () => {
                const res = await pushUpdate(client, header, deltaBytes, chunkKiB * 1024);
                if (!res.accepted) throw new Error("push was not accepted");
              }),
            );
          }
        }
      }
    }
    const stored = want("push") || want("raw-store");
    const validate = stored ? await child.request<{ ms: number; cpuMs: number }>({ op: "validate", version: prep.version, update: deltaSha }) : null;
    const floor = stored ? await child.request<{ hashMs: number; writeMs: number; scanMs: number }>({ op: "floor", version: prep.version, update: deltaSha }) : null;
    results.push({ size: sizeMiB, rows, validate, floor, oov: prep.oovBuckets, ckpt: prep.size, delta: deltaBytes.length });
  }

  for (const c of Object.values(clients)) c.close();
  await child.request({ op: "stop" });
  rmSync(dir, { recursive: true, force: true });

  const mibps = (r: Row): number => r.bytes / MiB / (median(r.samples.map((s) => s.ms)) / 1000);
  const cpuMs = (r: Row): number => median(r.samples.map((s) => s.clientCpuMs + s.coordCpuMs));
  const mem = (peak: number[], growth: number[]): string => `${Math.max(...peak).toFixed(0)} (+${Math.max(...growth).toFixed(0)})`;
  const growthRatio = (r: Row): string => (Math.max(...r.samples.map((s) => s.coordGrowth)) / (r.bytes / MiB)).toFixed(2);
  const label: Record<Row["direction"], string> = {
    "raw-pull": "raw socket, server → client",
    pull: "pull (pullModel → file, sha256 checked)",
    "pull-stream": "pull-stream (PullModel, bytes discarded)",
    "raw-push": "raw socket, client → server",
    "raw-store": "raw socket into receiveUpdate (push's storage and checks, no gRPC)",
    push: "push (pushUpdate → accepted)",
  };
  const rowLabel = (r: Row): string => (r.chunkKiB === undefined ? label[r.direction] : `${label[r.direction]}, ${r.chunkKiB} KiB chunks`);
  console.log(`\nTransfer over loopback, median of ${reps}. CPU: both processes, all threads. Peak RSS in MiB (growth over the RSS at the start of the transfer), max over the runs.`);
  console.log("| payload | transport | direction | MiB/s | × raw TCP | × raw same transport | CPU ms client + coord | × raw CPU | client peak RSS | coordinator peak RSS | coord growth × payload |");
  console.log("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const res of results) {
    for (const t of TRANSPORTS) {
      for (const r of res.rows.filter((x) => x.transport === t)) {
        const isPull = r.direction.includes("pull");
        const rawTcp = res.rows.find((x) => x.transport === "plaintext" && x.direction === (isPull ? "raw-pull" : "raw-push"));
        const rawSame = res.rows.find((x) => x.transport === t && x.direction === (isPull ? "raw-pull" : "raw-push"));
        const ratio = (base: Row | undefined, f: (x: Row) => number, digits: number): string => (base ? (f(r) / f(base)).toFixed(digits) : "n/a");
        const cpuSplit = `${median(r.samples.map((s) => s.clientCpuMs)).toFixed(0)} + ${median(r.samples.map((s) => s.coordCpuMs)).toFixed(0)}`;
        const cells = [
          `${(r.bytes / MiB).toFixed(1)} MiB`,
          t === "mtls" ? "mTLS" : "plaintext",
          rowLabel(r),
          mibps(r).toFixed(0),
          ratio(rawTcp, mibps, 2),
          ratio(rawSame, mibps, 2),
          cpuSplit,
          ratio(rawSame, cpuMs, 1),
          mem(r.samples.map((s) => s.clientPeak), r.samples.map((s) => s.clientGrowth)),
          mem(r.samples.map((s) => s.coordPeak), r.samples.map((s) => s.coordGrowth)),
          growthRatio(r),
        ];
        console.log(`| ${cells.join(" | ")} |`);
      }
    }
  }
  console.log("");
  const medianMs = (r: Row | undefined): number => (r ? median(r.samples.map((s) => s.ms)) : NaN);
  for (const res of results) {
    const push = res.rows.find((r) => r.transport === "plaintext" && r.direction === "push" && r.chunkKiB === pushChunksKiB[0]);
    if (push && res.validate) {
      console.log(
        `${res.size} MiB: checkpoint ${res.ckpt} B (small preset, oovBuckets ${res.oov}), delta ${res.delta} B. Coordinator validation alone ` +
          `(base layout from its header + delta scanned tensor by tensor from its blob file + checks, once): ${res.validate.ms.toFixed(0)} ms wall, ${res.validate.cpuMs.toFixed(0)} ms CPU; the plaintext push's medians: ` +
          `${median(push.samples.map((s) => s.ms)).toFixed(0)} ms wall, ${median(push.samples.map((s) => s.coordCpuMs)).toFixed(0)} ms coordinator CPU`,
      );
    }
    if (res.floor) {
      const work = res.floor.hashMs + res.floor.writeMs + res.floor.scanMs;
      console.log(
        `${res.size} MiB, the per-byte work every push does, each part alone on bytes in memory (coordinator process, best of 3): sha256 ${res.floor.hashMs.toFixed(0)} ms + ` +
          `write and fsync (1 MiB writes) ${res.floor.writeMs.toFixed(0)} ms + delta scan and checks ${res.floor.scanMs.toFixed(0)} ms = ${work.toFixed(0)} ms.`,
      );
      for (const t of TRANSPORTS) {
        const rawMs = medianMs(res.rows.find((r) => r.transport === t && r.direction === "raw-push"));
        if (!Number.isFinite(rawMs)) continue;
        const pushMs = medianMs(res.rows.find((r) => r.transport === t && r.direction === "push" && r.chunkKiB === pushChunksKiB[0]));
        const storeMs = medianMs(res.rows.find((r) => r.transport === t && r.direction === "raw-store"));
        console.log(
          `  ${t}: raw ${rawMs.toFixed(0)} ms; 0.5 × raw allows ${rawMs.toFixed(0)} ms on top of the raw transfer; raw + that work in series = ${(rawMs / (rawMs + work)).toFixed(2)} × raw` +
            (Number.isFinite(storeMs) ? `; raw-store ${storeMs.toFixed(0)} ms` : "") +
            (Number.isFinite(pushMs) ? `; push ${pushMs.toFixed(0)} ms` : "") +
            (Number.isFinite(pushMs) && Number.isFinite(storeMs) ? ` (push / raw-store time ${(pushMs / storeMs).toFixed(2)}: what gRPC adds)` : ""),
        );
      }
    }
  }
  console.log(`total bench time ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

if (process.env[ROLE_ENV] === "coordinator") await coordinatorMain();
else await benchMain();
