// Property-based fuzzing of every SiteService RPC against a real in-process coordinator over
// loopback gRPC. A generated request may be refused with any precise status, but never with
// INTERNAL or UNKNOWN (an unhandled error), and the server must keep serving and stay within a
// memory bound. Run counts are fixed and printed; the seed is fixed.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { call, createSiteClient } from "../../site-agent/client.js";
import { createAdminClient, type AdminClient } from "../../services/transport/index.js";
import type { RunningCoordinator } from "../../coordinator/index.js";
import type { SiteServiceClient } from "../../generated/medfcl/v1/SiteService.js";
import type { NextTaskResponse__Output } from "../../generated/medfcl/v1/NextTaskResponse.js";
import { startTestCoordinator, testManifest } from "../helpers/federation.js";

const SEED = 20261202;
export const RUNS_PER_RPC = 150;
const RSS_BOUND_MB = 256;
const CRASH = new Set([grpc.status.INTERNAL, grpc.status.UNKNOWN]);

const SITE = "site-fz";
let session = "";
let taskId = "";
let baseVersion = "";

const text = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("", SITE, "../../etc/passwd", "a".repeat(300), "0".repeat(64)));
const int = fc.oneof(fc.integer({ min: -5, max: 100 }), fc.constantFrom(-(2 ** 31), 2 ** 31 - 1, 0));
const num = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(Number.NaN, Infinity, -Infinity, 1e308));
const siteId = fc.oneof(fc.constant(SITE), text);
const sessionArb = fc.oneof(fc.constant("").map(() => session), text);
const taskArb = fc.oneof(fc.constant("").map(() => taskId), text);
const versionArb = fc.oneof(fc.constant("").map(() => baseVersion), text);
const bytes = fc.uint8Array({ maxLength: 4096 }).map((b) => Buffer.from(b));
const categories = fc.array(fc.record({ id: int, name: text, prompt: fc.option(fc.record({ prefix: text, name: text, suffix: text }), { nil: undefined }) }), { maxLength: 4 });
const manifest = fc.option(
  fc.record({ domain: text, task: text, num_images: int, num_annotations: int, categories, annotations_sha256: text, num_shareable: int }, { requiredKeys: [] }),
  { nil: undefined },
);
const tensorManifest = fc.record({ tensors: fc.array(fc.record({ name: text, dtype: fc.constantFrom("F32", "F16", "I8", "X"), shape: fc.array(int, { maxLength: 3 }) }), { maxLength: 3 }) });
const metrics = fc.array(fc.record({ name: text, value: num, step: int }), { maxLength: 3 });
const info = fc.record(
  {
    exemplar_id: text,
    mime: fc.constantFrom("image/png", "image/jpeg", "text/plain", ""),
    width: int,
    height: int,
    boxes: fc.array(fc.record({ x: num, y: num, width: num, height: num, category_id: int }), { maxLength: 2 }),
    domain: text,
    categories,
    provenance: fc.option(fc.record({ content_sha256: text, source_hmac: text, site_id: siteId, stages: fc.array(fc.record({ name: text, version: text, removed: fc.array(text, { maxLength: 2 }) }), { maxLength: 2 }), exported_at: text }), { nil: undefined }),
    size: int,
    score: num,
  },
  { requiredKeys: [] },
);

function unary<Res>(client: SiteServiceClient, rpc: "Register" | "Heartbeat" | "NextTask" | "ReportMetrics", req: object): Promise<grpc.status> {
  const fn = client[rpc].bind(client) as unknown as Parameters<typeof call<object, Res>>[0];
  return call<object, Res>(fn, req, 10_000).then(
    () => grpc.status.OK,
    (err: grpc.ServiceError) => err.code,
  );
}

function serverStream(stream: grpc.ClientReadableStream<unknown>): Promise<grpc.status> {
  return new Promise((resolve) => {
    stream.on("data", () => undefined);
    stream.on("error", (err: grpc.ServiceError) => resolve(err.code));
    stream.on("end", () => resolve(grpc.status.OK));
  });
}

function clientStream(open: (cb: (err: grpc.ServiceError | null) => void) => grpc.ClientWritableStream<unknown>, messages: object[]): Promise<grpc.status> {
  return new Promise((resolve) => {
    const stream = open((err) => resolve(err ? err.code : grpc.status.OK));
    for (const m of messages) stream.write(m);
    stream.end();
  });
}

describe("fuzz - SiteService request handling", () => {
  let coord: RunningCoordinator;
  let client: SiteServiceClient;
  let admin: AdminClient;
  const seen = new Map<string, Map<number, number>>();
  const startRss = process.memoryUsage().rss;
  let peakRss = startRss;

  const record = (rpc: string, code: grpc.status): void => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const m = seen.get(rpc) ?? new Map<number, number>();
    m.set(code, (m.get(code) ?? 0) + 1);
    seen.set(rpc, m);
    assert.ok(!CRASH.has(code), `${rpc} answered ${grpc.status[code]}: an unhandled error`);
  };

  before(async () => {
    coord = await startTestCoordinator({ evalSets: { "dom-fz": "/unused" }, taskDeadlineMs: 600_000 });
    client = createSiteClient({ address: coord.address, insecure: true });
    admin = createAdminClient(coord.address, { insecure: true });
    session = (await call<object, { session_id: string }>(client.Register.bind(client), { site_id: SITE, agent_version: "t", manifest: testManifest("dom-fz"), backend: "wasm" })).session_id;
    await admin.createRun({ model: "nano", name: "fuzz", strategy: "sequential", sites: [SITE], seed: 1 });
    for (;;) {
      const res = await call<object, NextTaskResponse__Output>(client.NextTask.bind(client), { site_id: SITE, session_id: session, wait_ms: 5000 });
      if (res.task) {
        taskId = res.task.task_id;
        baseVersion = res.task.base_version;
        break;
      }
    }
  });

  after(async () => {
    client.close();
    admin.close();
    await coord.close();
  });

  const opts = { numRuns: RUNS_PER_RPC, seed: SEED };

  it(`fuzz - Register, Heartbeat, NextTask and ReportMetrics: ${RUNS_PER_RPC} generated requests each, no unhandled error`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.record({ site_id: siteId, agent_version: text, manifest, backend: text, capabilities: fc.array(text, { maxLength: 3 }) }), async (req) => {
        // Never re-register the fixture site: its session must stay valid for the other RPCs.
        record("Register", await unary(client, "Register", req.site_id === SITE ? { ...req, site_id: `${SITE}-x` } : req));
      }),
      opts,
    );
    await fc.assert(
      fc.asyncProperty(fc.record({ site_id: siteId, session_id: sessionArb, state: text, task_id: taskArb, progress: num, loss: num }), async (req) => record("Heartbeat", await unary(client, "Heartbeat", req))),
      opts,
    );
    await fc.assert(
      fc.asyncProperty(fc.record({ site_id: siteId, session_id: sessionArb, wait_ms: fc.integer({ min: -10, max: 20 }) }), async (req) => record("NextTask", await unary(client, "NextTask", req))),
      opts,
    );
    await fc.assert(
      // "failed:"/"refused:" notes would end the fixture task; they are exercised by the agent tests.
      fc.asyncProperty(fc.record({ site_id: siteId, task_id: taskArb, metrics, notes: fc.array(text.filter((t) => !/^(failed|refused):/.test(t)), { maxLength: 3 }) }), async (req) =>
        record("ReportMetrics", await unary(client, "ReportMetrics", req)),
      ),
      opts,
    );
  });

  it(`fuzz - PullModel and PullExemplars: ${RUNS_PER_RPC} generated requests each, no unhandled error`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.record({ site_id: siteId, version: versionArb, offset: fc.oneof(int, fc.constantFrom(2 ** 40)), chunk_bytes: int }), async (req) =>
        record("PullModel", await serverStream(client.PullModel(req) as grpc.ClientReadableStream<unknown>)),
      ),
      opts,
    );
    await fc.assert(
      fc.asyncProperty(fc.record({ site_id: siteId, task_id: taskArb, exemplar_ids: fc.array(text, { maxLength: 3 }) }), async (req) =>
        record("PullExemplars", await serverStream(client.PullExemplars(req) as grpc.ClientReadableStream<unknown>)),
      ),
      opts,
    );
  });

  it(`fuzz - PushUpdate and PushExemplars: ${RUNS_PER_RPC} generated streams each, no unhandled error`, async () => {
    const header = fc.record(
      { site_id: siteId, task_id: taskArb, base_version: versionArb, sha256: text, size: int, manifest: tensorManifest, encoding: fc.constantFrom("fp32", "fp16", "int8", "topk", "zz"), num_samples: int, metrics },
      { requiredKeys: [] },
    );
    const updateMsg = fc.oneof({ weight: 1, arbitrary: header.map((h) => ({ header: h })) }, { weight: 4, arbitrary: fc.record({ offset: fc.oneof(int, fc.constant(0)), data: bytes }).map((c) => ({ chunk: c })) });
    await fc.assert(
      // The header is usually first (the interesting path); sometimes not.
      fc.asyncProperty(fc.boolean(), header, fc.array(updateMsg, { maxLength: 4 }), async (headerFirst, h, rest) =>
        record("PushUpdate", await clientStream((cb) => client.PushUpdate(cb) as unknown as grpc.ClientWritableStream<unknown>, headerFirst ? [{ header: h }, ...rest] : rest)),
      ),
      opts,
    );
    const exMsg = fc.oneof(
      info.map((i) => ({ info: i })),
      fc.record({ offset: int, data: bytes }).map((c) => ({ chunk: c })),
      fc.record({ site_id: siteId, task_id: taskArb }).map((hd) => ({ header: hd })),
    );
    await fc.assert(
      fc.asyncProperty(fc.record({ site_id: siteId, task_id: taskArb }), fc.array(exMsg, { maxLength: 5 }), async (hd, rest) =>
        record("PushExemplars", await clientStream((cb) => client.PushExemplars(cb) as unknown as grpc.ClientWritableStream<unknown>, [{ header: hd }, ...rest])),
      ),
      opts,
    );
  });

  it(`fuzz - the coordinator still serves, and RSS stayed within ${RSS_BOUND_MB} MiB of the start`, async () => {
    const res = await call<object, { reregister: boolean }>(client.Heartbeat.bind(client), { site_id: SITE, session_id: session, state: "idle" });
    assert.equal(res.reregister, false);
    const growth = (peakRss - startRss) / 2 ** 20;
    const summary = Object.fromEntries([...seen].map(([rpc, m]) => [rpc, Object.fromEntries([...m].map(([c, n]) => [grpc.status[c], n]))]));
    process.stdout.write(`# RPC fuzz, ${RUNS_PER_RPC} per RPC: ${JSON.stringify(summary)}; peak RSS growth ${growth.toFixed(0)} MiB (bound ${RSS_BOUND_MB})\n`);
    assert.equal(seen.size, 8, "every SiteService RPC was fuzzed");
    assert.ok(growth < RSS_BOUND_MB, `RSS grew by ${growth.toFixed(0)} MiB`);
  });
});
