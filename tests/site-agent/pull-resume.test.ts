import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, connect, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { call, createSiteClient, pullModel } from "../../site-agent/client.js";
import { createAdminClient } from "../../services/transport/index.js";
import type { RunningCoordinator } from "../../coordinator/index.js";
import type { NextTaskResponse__Output } from "../../generated/medfcl/v1/NextTaskResponse.js";
import { startTestCoordinator, testManifest } from "../helpers/federation.js";
import { tempDir } from "../helpers/temp.js";

/** A loopback TCP proxy that cuts its first connection after `cutAfter` bytes from the server. */
function cuttingProxy(target: string, cutAfter: number): Promise<{ address: string; cuts: number; server: Server }> {
  const [host, port] = target.split(":");
  const state = { address: "", cuts: 0, server: undefined as unknown as Server };
  let first = true;
  state.server = createServer((client: Socket) => {
    const upstream = connect(Number(port), host);
    const cut = first;
    first = false;
    let seen = 0;
    upstream.on("data", (d) => {
      seen += d.length;
      if (cut && seen > cutAfter) {
        state.cuts++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(d);
    });
    client.on("data", (d) => upstream.write(d));
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  return new Promise((resolve) => state.server.listen(0, "127.0.0.1", () => resolve(Object.assign(state, { address: `127.0.0.1:${(state.server.address() as { port: number }).port}` }))));
}

describe("site agent - resumable model download", () => {
  let coord: RunningCoordinator;
  before(async () => {
    coord = await startTestCoordinator();
  });
  after(async () => {
    await coord.close();
  });

  it("agent - a connection killed mid-PullModel resumes from the offset with an identical sha256", async () => {
    const direct = createSiteClient({ address: coord.address, insecure: true });
    const reg = await call<object, { session_id: string }>(direct.Register.bind(direct), { site_id: "site-r", agent_version: "t", manifest: testManifest("dom-r"), backend: "wasm" });
    const admin = createAdminClient(coord.address, { insecure: true });
    await admin.createRun({ model: "nano", name: "resume", strategy: "sequential", sites: ["site-r"], seed: 1 });
    let task: NextTaskResponse__Output["task"] = null;
    while (!task) task = (await call<object, NextTaskResponse__Output>(direct.NextTask.bind(direct), { site_id: "site-r", session_id: reg.session_id, wait_ms: 5000 })).task;
    const total = coord.ctx.blobs.size(task.base_version);

    const proxy = await cuttingProxy(coord.address, Math.floor(total / 3));
    const viaProxy = createSiteClient({ address: proxy.address, insecure: true });
    const offsets: number[] = [];
    const dest = join(tempDir("medfcl-resume-"), "model.safetensors");
    await pullModel(viaProxy, "site-r", task.base_version, dest, { chunkBytes: 16 * 1024, onAttempt: (o) => offsets.push(o) });

    assert.equal(proxy.cuts, 1, "the proxy should have cut the first connection");
    assert.equal(offsets.length, 2, `expected one retry, got offsets ${offsets}`);
    assert.equal(offsets[0], 0);
    assert.ok(offsets[1] > 0 && offsets[1] < total, `the retry should resume mid-file, got ${offsets[1]} of ${total}`);
    assert.equal(createHash("sha256").update(readFileSync(dest)).digest("hex"), task.base_version);
    viaProxy.close();
    direct.close();
    admin.close();
    proxy.server.close();
  });
});
