import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type FlushTimer, getSite, LivenessWriter, openDb, upsertSite } from "../../coordinator/store/index.js";

/** A timer the test fires by hand: the writer's only clock. */
function manualTimer(): FlushTimer & { fire(): void; armed(): number } {
  const pending = new Map<number, () => void>();
  let next = 0;
  return {
    set(fn) {
      pending.set(++next, fn);
      return next;
    },
    clear: (h) => void pending.delete(h as number),
    fire() {
      const fns = [...pending.values()];
      pending.clear();
      for (const fn of fns) fn();
    },
    armed: () => pending.size,
  };
}

function dbWithSites(...ids: string[]) {
  const db = openDb(":memory:");
  for (const siteId of ids) upsertSite(db, { siteId, domain: "kvasir", task: "polyp", manifest: { num_images: 1 }, backend: "cpu", agentVersion: "test", sessionId: `s-${siteId}` });
  return db;
}

describe("coordinator liveness writer", () => {
  it("liveness - touches are gathered and written in one flush on the injected timer; lastSeenAt counts a touch not yet written", () => {
    const db = dbWithSites("a", "b");
    const timer = manualTimer();
    const live = new LivenessWriter(db, { timer });
    const before = getSite(db, "a")!.lastSeenAt;
    live.touch("a", "2999-01-01T00:00:00.000Z");
    live.touch("b", "2999-01-01T00:00:01.000Z");
    live.touch("a", "2999-01-01T00:00:02.000Z");
    assert.equal(timer.armed(), 1, "one flush is scheduled for many touches");
    assert.equal(getSite(db, "a")!.lastSeenAt, before, "nothing is written before the timer fires");
    assert.equal(live.lastSeenAt(getSite(db, "a")!), "2999-01-01T00:00:02.000Z");
    timer.fire();
    assert.equal(getSite(db, "a")!.lastSeenAt, "2999-01-01T00:00:02.000Z");
    assert.equal(getSite(db, "b")!.lastSeenAt, "2999-01-01T00:00:01.000Z");
    assert.equal(timer.armed(), 0);
  });

  it("liveness - a failed flush keeps its entries, tells the owner and is tried again; a newer touch wins", () => {
    const db = dbWithSites("a");
    const timer = manualTimer();
    const errors: string[] = [];
    const live = new LivenessWriter(db, { timer, onFlushError: (err) => errors.push((err as Error).message) });
    live.touch("a", "2999-01-01T00:00:00.000Z");
    db.exec("CREATE TRIGGER refuse BEFORE UPDATE ON sites BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END");
    timer.fire();
    assert.deepEqual(errors, ["disk full (simulated)"]);
    assert.equal(timer.armed(), 1, "the flush is scheduled again");
    live.touch("a", "2999-01-01T00:00:05.000Z");
    db.exec("DROP TRIGGER refuse");
    timer.fire();
    assert.equal(getSite(db, "a")!.lastSeenAt, "2999-01-01T00:00:05.000Z");
    assert.throws(() => {
      db.exec("CREATE TRIGGER refuse BEFORE UPDATE ON sites BEGIN SELECT RAISE(ABORT, 'still full'); END");
      live.touch("a", "2999-01-01T00:00:09.000Z");
      live.flush();
    }, /still full/, "flush() called directly (at close) throws to its caller");
    assert.equal(live.lastSeenAt(getSite(db, "a")!), "2999-01-01T00:00:09.000Z", "the unwritten touch still counts");
  });
});
