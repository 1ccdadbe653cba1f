// The coordinator on a state dir that fills up: it refuses uploads and run creation, keeps serving
// reads, heartbeats and the dashboard, says why (gRPC health, /healthz, /metrics), and resumes by
// itself. A real tmpfs (needs root; skipped with a message elsewhere, required under CI=true).
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import Database from "better-sqlite3";
import { call, createSiteClient, pullModel, pushUpdate } from "../../site-agent/client.js";
import { createAdminClient, retryAfterMs, type AdminClient } from "../../services/transport/index.js";
import type { RunningCoordinator } from "../../coordinator/index.js";
import * as store from "../../coordinator/store/index.js";
import type { SiteServiceClient } from "../../generated/medfcl/v1/SiteService.js";
import type { TrainTask__Output } from "../../generated/medfcl/v1/TrainTask.js";
import type { NextTaskResponse__Output } from "../../generated/medfcl/v1/NextTaskResponse.js";
import { constantDelta, encodedDelta, manifestOf, startTestCoordinator, testManifest } from "../helpers/federation.js";
import { mountTmpfs, tmpfsSkipReason, type SmallFs } from "../helpers/tmpfs.js";

const MB = 1024 * 1024;
const TOKEN = "disk-full-dashboard-token";
const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const healthProto = join(dirname(createRequire(import.meta.url).resolve("grpc-health-check/package.json")), "proto/health/v1/health.proto");
function healthOf(address: string, service: string): Promise<string> {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(healthProto, { keepCase: true, enums: String, defaults: true }));
  const Health = ((pkg.grpc as grpc.GrpcObject).health as grpc.GrpcObject).v1 as grpc.GrpcObject;
  const client = new (Health.Health as grpc.ServiceClientConstructor)(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Check(req: { service: string }, cb: (err: grpc.ServiceError | null, res: { status: string }) => void): void;
  };
  return new Promise((resolve, reject) =>
    client.Check({ service }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res.status);
    }),
  );
}

async function http(coord: RunningCoordinator, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://${coord.httpAddress}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, body: await res.text() };
}

async function nextTask(client: SiteServiceClient, siteId: string, session: string): Promise<TrainTask__Output> {
  for (;;) {
    const res = await call<object, NextTaskResponse__Output>(client.NextTask.bind(client), { site_id: siteId, session_id: session, wait_ms: 2000 });
    if (res.task) return res.task;
  }
}

describe("coordinator - a full state dir", { skip: tmpfsSkipReason() }, () => {
  let fs: SmallFs;
  let coord: RunningCoordinator;
  let admin: AdminClient;
  let client: SiteServiceClient;
  let session = "";

  before(async () => {
    fs = mountTmpfs(24 * MB);
    // The watermark is 4 MB of the 24: filling to 1 MB free crosses it before any write fails.
    coord = await startTestCoordinator({ stateDir: join(fs.dir, "state"), minFreeBytes: 4 * MB, storageCheckMs: 100, heartbeatMisses: 1000, dashboardToken: TOKEN, evalSets: { "dom-a": "/unused" } });
    admin = createAdminClient(coord.address, { insecure: true });
    client = createSiteClient({ address: coord.address, insecure: true });
    session = (await call<object, { session_id: string }>(client.Register.bind(client), { site_id: "site-a", agent_version: "test", manifest: testManifest("dom-a"), backend: "wasm" })).session_id;
  });

  after(async () => {
    client?.close();
    admin?.close();
    await coord?.close();
    fs?.close();
  });

  it("coordinator - below the watermark it refuses uploads and runs (RESOURCE_EXHAUSTED, retry-after), serves reads, heartbeats and the dashboard, and says why; it resumes by itself", async () => {
    const run = await admin.createRun({ model: "nano", name: "before-full", strategy: "sequential", sites: ["site-a"], seed: 3 });
    const task = await nextTask(client, "site-a", session);
    const base = readFileSync(await pullModel(client, "site-a", task.base_version, join(fs.dir, "agent", "base.safetensors")));
    rmSync(join(fs.dir, "agent"), { recursive: true });
    const delta = constantDelta(base, 1e-3);
    const bytes = encodedDelta(delta);
    const header = { site_id: "site-a", task_id: task.task_id, base_version: task.base_version, sha256: sha(bytes), size: bytes.length, manifest: { tensors: manifestOf(delta) }, encoding: "DELTA_ENCODING_FP32" as const, num_samples: 5 };

    fs.fill(1 * MB);
    await until("disk-full", () => coord.ctx.storage.status().state === "disk-full");

    const refused = await pushUpdate(client, header, bytes).then(
      () => null,
      (err: grpc.ServiceError) => err,
    );
    assert.equal(refused?.code, grpc.status.RESOURCE_EXHAUSTED, "an upload is refused");
    assert.match(refused!.details, /free space.*store gc/i, "the refusal says what to free");
    assert.ok((retryAfterMs(refused) ?? -1) > 0, "and when to come back");
    const createErr = await admin.createRun({ model: "nano", name: "while-full", strategy: "sequential", sites: ["site-a"], seed: 3 }).then(
      () => null,
      (err: grpc.ServiceError) => err,
    );
    assert.equal(createErr?.code, grpc.status.RESOURCE_EXHAUSTED, "a new run is refused");

    assert.equal((await admin.getRun(run.run_id)).name, "before-full", "reads go on");
    const beat = await call<object, { reregister: boolean }>(client.Heartbeat.bind(client), { site_id: "site-a", session_id: session, state: "uploading", task_id: task.task_id, progress: 0.9, loss: 0 });
    assert.equal(beat.reregister, false, "heartbeats go on");
    assert.equal((await http(coord, "/api/state")).status, 200, "the dashboard answers");
    const health = JSON.parse((await http(coord, "/healthz")).body) as { ok: boolean; writable: boolean; storage: { state: string; reason: string } };
    assert.deepEqual([health.ok, health.writable, health.storage.state], [true, false, "disk-full"]);
    assert.match(health.storage.reason, /below coordinator\.minFreeBytes/);
    const metrics = (await http(coord, "/metrics")).body;
    assert.match(metrics, /medfcl_storage_state\{state="disk-full"\} 1/);
    assert.match(metrics, /medfcl_state_dir_free_bytes \d+/);
    assert.equal(await healthOf(coord.address, "medfcl.v1.SiteService"), "NOT_SERVING");
    assert.equal(await healthOf(coord.address, ""), "SERVING", "the server as a whole stays up (liveness)");
    assert.equal(await healthOf(coord.address, "medfcl.v1.AdminService"), "SERVING");

    fs.unfill();
    await until("writes taken again", () => coord.ctx.storage.writable);
    assert.equal(await healthOf(coord.address, "medfcl.v1.SiteService"), "SERVING");
    const res = await pushUpdate(client, header, bytes);
    assert.deepEqual([res.accepted, res.duplicate], [true, false], "the same upload lands once there is room");
    assert.equal((await admin.waitForRun(run.run_id, { pollMs: 100, timeoutMs: 20_000 })).state, "completed");
  });

  it("coordinator - with no watermark, writes that fail (an upload, the liveness flush) put it in disk-full without ending the process, and it recovers", async () => {
    await coord.close();
    coord = await startTestCoordinator({ stateDir: join(fs.dir, "state"), minFreeBytes: 0, storageCheckMs: 100, heartbeatMisses: 1000, evalSets: { "dom-a": "/unused" } });
    admin.close();
    client.close();
    admin = createAdminClient(coord.address, { insecure: true });
    client = createSiteClient({ address: coord.address, insecure: true });
    session = (await call<object, { session_id: string }>(client.Register.bind(client), { site_id: "site-a", agent_version: "test", manifest: testManifest("dom-a"), backend: "wasm" })).session_id;
    const run = await admin.createRun({ model: "nano", name: "no-watermark", strategy: "sequential", sites: ["site-a"], seed: 4 });
    const task = await nextTask(client, "site-a", session);
    const base = readFileSync(await pullModel(client, "site-a", task.base_version, join(fs.dir, "agent2", "base.safetensors")));
    rmSync(join(fs.dir, "agent2"), { recursive: true });
    const delta = constantDelta(base, 2e-3);
    const bytes = encodedDelta(delta);
    const header = { site_id: "site-a", task_id: task.task_id, base_version: task.base_version, sha256: sha(bytes), size: bytes.length, manifest: { tensors: manifestOf(delta) }, encoding: "DELTA_ENCODING_FP32" as const, num_samples: 5 };

    fs.fill(0);
    assert.equal(coord.ctx.storage.writable, true, "no watermark: nothing is refused before a write fails");
    // Heartbeats (without a task: no progress event to store) are written behind, once a second:
    // the timer's flush fails on the full disk. It used to throw from the timer and end the process.
    const beatAt = Date.now();
    for (let i = 0; i < 15; i++) {
      await call(client.Heartbeat.bind(client), { site_id: "site-a", session_id: session, state: "idle", task_id: "", progress: 0, loss: 0 });
      await sleep(100);
    }
    await until("the failed flush noticed", () => coord.ctx.storage.status().state === "disk-full");
    assert.match(coord.ctx.storage.status().reason ?? "", /^liveness flush failed/);
    const refused = await pushUpdate(client, header, bytes).then(
      () => null,
      (err: grpc.ServiceError) => err,
    );
    assert.equal(refused?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(coord.ctx.blobs.has(header.sha256), false, "no blob of the refused upload is visible");

    fs.unfill();
    await until("writes taken again", () => coord.ctx.storage.writable);
    // The liveness gathered while the disk was full is written once there is room.
    await until("liveness flushed", () => Date.parse(store.getSite(coord.ctx.db, "site-a")!.lastSeenAt) >= beatAt);
    assert.equal((await pushUpdate(client, header, bytes)).accepted, true);
    assert.equal((await admin.waitForRun(run.run_id, { pollMs: 100, timeoutMs: 20_000 })).state, "completed");

    const db = new Database(join(fs.dir, "state", "coordinator.sqlite"), { readonly: true });
    const versions = db.prepare("SELECT COUNT(*) AS n FROM versions WHERE run_id = ?").get(run.run_id) as { n: number };
    const rows = db.prepare("SELECT COUNT(*) AS n FROM updates WHERE run_id = ?").get(run.run_id) as { n: number };
    db.close();
    assert.deepEqual([versions.n, rows.n], [2, 1], "a base and one step version, one update row: no orphan, no duplicate");
    assert.ok(coord.ctx.storage.status().writeFailures > 0);
  });
});
