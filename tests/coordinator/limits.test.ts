import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { call, createSiteClient, pushUpdate } from "../../site-agent/client.js";
import { createAdminClient, type AdminClient } from "../../services/transport/index.js";
import type { RunningCoordinator } from "../../coordinator/index.js";
import type { SiteServiceClient } from "../../generated/medfcl/v1/SiteService.js";
import type { NextTaskResponse__Output } from "../../generated/medfcl/v1/NextTaskResponse.js";
import { startTestCoordinator, testManifest } from "../helpers/federation.js";
import { runCli } from "../helpers/processes.js";

const refusedWith = (code: grpc.status, details: RegExp) => (err: grpc.ServiceError) => {
  assert.equal(grpc.status[err.code], grpc.status[code], err.details);
  assert.match(err.details, details);
  return true;
};

describe("coordinator - limits on what a site declares", () => {
  let coord: RunningCoordinator;
  let client: SiteServiceClient;
  let admin: AdminClient;
  const register = (req: object) => call<object, { session_id: string }>(client.Register.bind(client), req);

  before(async () => {
    coord = await startTestCoordinator({ evalSets: { "dom-l": "/unused" } });
    client = createSiteClient({ address: coord.address, insecure: true });
    admin = createAdminClient(coord.address, { insecure: true });
  });
  after(async () => {
    client.close();
    admin.close();
    await coord.close();
  });

  it("coordinator - Register refuses a 5 MB manifest, 100,000 categories and an overlong prompt", async () => {
    const base = testManifest("dom-l");
    await assert.rejects(register({ site_id: "site-l", agent_version: "t", backend: "wasm", manifest: { ...base, task: "x".repeat(5 * 1024 * 1024) } }), refusedWith(grpc.status.RESOURCE_EXHAUSTED, /manifest is \d+ bytes; at most 262144/));
    const many = Array.from({ length: 100_000 }, (_, i) => ({ id: i + 1, name: "c", prompt: { prefix: "", name: "c", suffix: "" } }));
    await assert.rejects(register({ site_id: "site-l", agent_version: "t", backend: "wasm", manifest: { ...base, categories: many } }), refusedWith(grpc.status.RESOURCE_EXHAUSTED, /100000 categories; at most 1000/));
    const longPrompt = [{ id: 1, name: "polyp", prompt: { prefix: "p".repeat(10_000), name: "polyp", suffix: "" } }];
    await assert.rejects(register({ site_id: "site-l", agent_version: "t", backend: "wasm", manifest: { ...base, categories: longPrompt } }), refusedWith(grpc.status.INVALID_ARGUMENT, /manifest\.categories\[0\]\.prompt\.prefix is 10000 characters; at most 256/));
    assert.equal(coord.ctx.db.prepare("SELECT COUNT(*) AS n FROM sites").get() && (coord.ctx.db.prepare("SELECT COUNT(*) AS n FROM sites").get() as { n: number }).n, 0, "nothing refused was stored");
  });

  it("coordinator - NextTask refuses an unknown session, and a re-registered site is served", async () => {
    const first = await register({ site_id: "site-l", agent_version: "t", backend: "wasm", manifest: testManifest("dom-l") });
    await assert.rejects(
      call(client.NextTask.bind(client), { site_id: "site-l", session_id: "not-a-session", wait_ms: 0 }),
      refusedWith(grpc.status.FAILED_PRECONDITION, /no session by that id.*call Register again/),
    );
    // Another registration of the site replaces the session: the old one is refused too.
    const second = await register({ site_id: "site-l", agent_version: "t", backend: "wasm", manifest: testManifest("dom-l") });
    await assert.rejects(call(client.NextTask.bind(client), { site_id: "site-l", session_id: first.session_id, wait_ms: 0 }), refusedWith(grpc.status.FAILED_PRECONDITION, /no session/));
    const res = await call<object, NextTaskResponse__Output>(client.NextTask.bind(client), { site_id: "site-l", session_id: second.session_id, wait_ms: 0 });
    assert.ok(res.idle, "the current session is served");
  });

  it("coordinator - an update declaring more bytes than any encoding of the base can take is refused with RESOURCE_EXHAUSTED, and NaN metrics with INVALID_ARGUMENT", async () => {
    const reg = await register({ site_id: "site-l", agent_version: "t", backend: "wasm", manifest: testManifest("dom-l") });
    await admin.createRun({ model: "nano", name: "limits", strategy: "sequential", sites: ["site-l"], seed: 1 });
    let task: NextTaskResponse__Output["task"] = null;
    while (!task) task = (await call<object, NextTaskResponse__Output>(client.NextTask.bind(client), { site_id: "site-l", session_id: reg.session_id, wait_ms: 5000 })).task;
    const header = { site_id: "site-l", task_id: task.task_id, base_version: task.base_version, sha256: "0".repeat(64), manifest: { tensors: [] }, encoding: "DELTA_ENCODING_FP32" as const, num_samples: 1 };
    await assert.rejects(pushUpdate(client, { ...header, size: 10 * 1024 ** 3 }, Buffer.alloc(16)), refusedWith(grpc.status.RESOURCE_EXHAUSTED, /declares 10737418240 bytes; updates for base .* are at most/));
    await assert.rejects(
      pushUpdate(client, { ...header, size: 16, metrics: [{ name: "loss", value: Number.NaN, step: 0 }] }, Buffer.alloc(16)),
      refusedWith(grpc.status.INVALID_ARGUMENT, /"loss" has value NaN; metrics must be finite/),
    );
    await assert.rejects(
      call(client.ReportMetrics.bind(client), { site_id: "site-l", task_id: task.task_id, metrics: [{ name: "loss", value: Infinity, step: 0 }], notes: [] }),
      refusedWith(grpc.status.INVALID_ARGUMENT, /metrics must be finite/),
    );
    assert.equal(coord.ctx.blobs.list().filter((b) => b !== task.base_version).length, 0, "refused uploads left no blob");
  });
});

describe("cli - numeric flags", () => {
  it("cli - runs create --lr NaN and --epochs Infinity exit 2 naming the flag", async () => {
    for (const [flag, value] of [["--lr", "NaN"], ["--epochs", "Infinity"]]) {
      const r = await runCli(["runs", "create", "--name", "x", "--strategy", "sequential", "--site", "a", "--insecure", "--coordinator", "127.0.0.1:1", flag, value]);
      assert.equal(r.code, 2, `${flag} ${value}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`${flag} expects a (whole )?number( [≥>] \\S+)?, got "${value}"`));
    }
  });
});
