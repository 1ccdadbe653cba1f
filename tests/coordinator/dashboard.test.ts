// The dashboard's HTTP side without a browser: who gets in, what /api/state holds, and that the
// SSE stream carries the events the coordinator publishes (and replays them after Last-Event-ID).
import { strict as assert } from "node:assert";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import type { RunningCoordinator } from "../../coordinator/index.js";
import type { DashboardSnapshot } from "../../coordinator/dashboard/snapshot.js";
import { startTestCoordinator } from "../helpers/federation.js";

const TOKEN = "test-dashboard-token-0123456789";

function get(address: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.slice(address.lastIndexOf(":") + 1))];
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end();
  });
}

interface SseMessage {
  id: string;
  event: string;
  data: string;
}

/** Opens /events and collects messages until `until` says stop (or the timeout). */
function readSse(address: string, headers: Record<string, string>, until: (msgs: SseMessage[]) => boolean, ms = 5000): Promise<SseMessage[]> {
  const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.slice(address.lastIndexOf(":") + 1))];
  return new Promise((resolve, reject) => {
    const msgs: SseMessage[] = [];
    const req = request({ host, port, path: "/events", headers }, (res) => {
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers["content-type"]), /^text\/event-stream/);
      let buf = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const m: SseMessage = { id: "", event: "", data: "" };
          for (const line of block.split("\n")) {
            const [k, ...v] = line.split(": ");
            if (k === "id" || k === "event" || k === "data") m[k] = v.join(": ");
          }
          if (m.data) msgs.push(m);
        }
        if (until(msgs)) {
          clearTimeout(timer);
          req.destroy();
          resolve(msgs);
        }
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`SSE: timed out with ${msgs.length} messages`));
    }, ms);
    req.on("error", (err) => {
      if (!req.destroyed) reject(err);
    });
    req.end();
  });
}

describe("dashboard over HTTP", () => {
  let coord: RunningCoordinator;
  let open: RunningCoordinator;
  before(async () => {
    coord = await startTestCoordinator({ dashboardToken: TOKEN, metricsAuth: "token" });
    open = await startTestCoordinator({});
  });
  after(async () => {
    await coord?.close();
    await open?.close();
  });

  it("dashboard - without the token the page, state and event stream answer 401; /healthz stays open", async () => {
    for (const path of ["/", "/api/state", "/events"]) {
      const res = await get(coord.httpAddress, path);
      assert.equal(res.status, 401, path);
      assert.match(String(res.headers["www-authenticate"]), /^Bearer/);
      assert.equal((await get(coord.httpAddress, path, { authorization: "Bearer wrong-token-wrong-token" })).status, 401, `${path} with a wrong token`);
      assert.equal((await get(coord.httpAddress, path, { cookie: "medfcl_dashboard=nope" })).status, 401, `${path} with a wrong cookie`);
    }
    assert.ok(!(await get(coord.httpAddress, "/")).body.includes("site-"), "the 401 page names nothing");
    const health = await get(coord.httpAddress, "/healthz");
    assert.equal(health.status, 200);
    assert.equal(JSON.parse(health.body).ok, true);
  });

  it("dashboard - ?token= trades the token for an HttpOnly cookie and redirects to /", async () => {
    const res = await get(coord.httpAddress, `/?token=${TOKEN}`);
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, "/");
    const cookie = String(res.headers["set-cookie"]);
    assert.match(cookie, /^medfcl_dashboard=/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const page = await get(coord.httpAddress, "/", { cookie: cookie.split(";")[0] });
    assert.equal(page.status, 200);
    assert.match(page.body, /<script>/);
    assert.match(String(page.headers["content-security-policy"]), /script-src 'sha256-/);
  });

  it("dashboard - /metrics follows coordinator.metricsAuth; a coordinator without a token keeps its dashboard off", async () => {
    assert.equal((await get(coord.httpAddress, "/metrics")).status, 401, "metricsAuth token");
    assert.equal((await get(coord.httpAddress, "/metrics", { authorization: `Bearer ${TOKEN}` })).status, 200);
    assert.equal((await get(open.httpAddress, "/metrics")).status, 200, "metricsAuth open (default)");
    const off = await get(open.httpAddress, "/", { authorization: `Bearer ${TOKEN}` });
    assert.equal(off.status, 403);
    assert.match(off.body, /coordinator\.dashboardToken/);
  });

  it("dashboard - /api/state has sites, runs and the seq the event stream continues from", async () => {
    const res = await get(coord.httpAddress, "/api/state", { authorization: `Bearer ${TOKEN}` });
    assert.equal(res.status, 200);
    const snap = JSON.parse(res.body) as DashboardSnapshot;
    assert.equal(snap.version, coord.ctx.version);
    assert.ok(Array.isArray(snap.sites) && Array.isArray(snap.runs) && Array.isArray(snap.events));
    assert.equal(typeof snap.lastSeq, "number");
  });

  it("dashboard - the SSE stream carries each published event, heartbeats and progress included, with increasing ids", async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const first = readSse(coord.httpAddress, auth, (m) => m.some((x) => JSON.parse(x.data).siteId === "site-b"));
    await new Promise((r) => setTimeout(r, 200));
    await coord.ctx.events.publish({ type: "site.heartbeat", siteId: "site-a", state: "training", taskId: "t1" });
    await coord.ctx.events.publish({ type: "site.progress", siteId: "site-a", taskId: "t1", progress: 0.25, loss: 1.5 });
    await coord.ctx.events.publish({ type: "site.heartbeat", siteId: "site-b", state: "idle" });
    const msgs = await first;
    const events = msgs.map((m) => ({ id: Number(m.id), event: m.event, body: JSON.parse(m.data) as { type: string; siteId: string; progress?: number } }));
    const a = events.filter((e) => e.body.siteId === "site-a");
    assert.deepEqual(a.map((e) => e.body.type), ["site.heartbeat", "site.progress"]);
    assert.equal(a[1].body.progress, 0.25);
    assert.ok(events.every((e) => e.event === "medfcl" && e.id > 0));
    assert.ok(events.every((e, i) => i === 0 || e.id > events[i - 1].id), "ids increase");
  });

  it("dashboard - after Last-Event-ID a reconnecting client gets the events it missed; a flood of heartbeats does not push them out of the ring", async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const live = readSse(coord.httpAddress, auth, (m) => m.some((x) => JSON.parse(x.data).siteId === "site-r2"));
    await new Promise((r) => setTimeout(r, 200));
    await coord.ctx.events.publish({ type: "site.registered", siteId: "site-r1", agentVersion: "test" });
    // More heartbeats than the ring holds (1,000): 1,000 sites beat that often in a second and a half.
    for (let i = 0; i < 1200; i++) await coord.ctx.events.publish({ type: "site.heartbeat", siteId: `site-hb-${i % 7}`, state: "idle" });
    await coord.ctx.events.publish({ type: "site.registered", siteId: "site-r2", agentVersion: "test" });
    const seen = (await live).map((m) => ({ id: Number(m.id), body: JSON.parse(m.data) as { type: string; siteId: string } }));
    assert.ok(seen.filter((e) => e.body.type === "site.heartbeat").length >= 1200, "heartbeats still reach connected clients");
    const r1 = seen.find((e) => e.body.siteId === "site-r1")!;
    const replay = await readSse(coord.httpAddress, { ...auth, "last-event-id": String(r1.id - 1) }, (m) => m.length >= 2);
    assert.deepEqual(
      replay.slice(0, 2).map((m) => (JSON.parse(m.data) as { siteId: string }).siteId),
      ["site-r1", "site-r2"],
      "both registrations are replayed, and no heartbeat between them",
    );
    assert.equal(Number(replay[0].id), r1.id);
  });
});
