import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createDashboardFeed, type FeedEntry } from "../../../coordinator/dashboard/feed.js";
import type { MedfclEvent } from "../../../services/events/index.js";

const at = "2026-12-07T00:00:00.000Z";
const event = (e: MedfclEvent): MedfclEvent => e;

describe("coordinator/dashboard/feed", () => {
  it("feed - heartbeats and progress reach subscribers and the live state but are not kept for replay", () => {
    const feed = createDashboardFeed(3, 0);
    const delivered: FeedEntry[] = [];
    feed.subscribe((e) => delivered.push(e));
    feed.push(event({ type: "site.registered", siteId: "a", agentVersion: "1", at, id: "e1" }));
    for (let i = 0; i < 10; i++) feed.push(event({ type: "site.heartbeat", siteId: "a", state: "training", taskId: "t1", at, id: `hb${i}` }));
    feed.push(event({ type: "site.progress", siteId: "a", runId: "r1", taskId: "t1", progress: 0.5, loss: 2, at, id: "p1" }));
    feed.push(event({ type: "site.registered", siteId: "b", agentVersion: "1", at, id: "e2" }));
    assert.equal(delivered.length, 13, "every event goes to connected clients");
    assert.equal(feed.lastSeq, 13);
    assert.deepEqual(feed.since(0).map((e) => e.seq), [1, 13], "only the registrations are kept");
    assert.deepEqual(feed.tail(1).map((e) => e.seq), [13]);
    const a = feed.siteLive().get("a")!;
    assert.equal(a.state, "training");
    assert.equal(a.progress, 0.5);
    assert.equal(a.lastHeartbeatAt, at);
  });

  it("feed - the ring keeps the newest `capacity` events", () => {
    const feed = createDashboardFeed(2, 100);
    for (const id of ["x", "y", "z"]) feed.push(event({ type: "site.registered", siteId: id, agentVersion: "1", at, id }));
    assert.deepEqual(feed.since(0).map((e) => e.seq), [102, 103]);
    assert.deepEqual(feed.tail(5).map((e) => e.seq), [102, 103]);
    assert.deepEqual(feed.tail(0), []);
  });
});
