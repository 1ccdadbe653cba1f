import { strict as assert } from "node:assert";
import { rmSync } from "node:fs";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import {
  createEventBus,
  EVENT_TYPES,
  eventSubject,
  NatsUnavailableError,
  runSubjectFilter,
  siteSubjectFilter,
  subjectMatches,
  type EventInput,
  type EventType,
  type MedfclEvent,
} from "../../../services/events/index.js";
import { createLogger, silentLogger, type Logger } from "../../../services/log/index.js";
import { freePort, natsSkipReason, startNatsServer, type NatsServerHandle } from "../../helpers/nats.js";
import { tempDir } from "../../helpers/temp.js";

const AT = "2026-01-02T03:04:05.000Z";

/** One event of every type, for a given run and site, so tests can keep their ids apart. */
function sampleEvents(runId: string, siteId: string): MedfclEvent[] {
  const inputs: (EventInput & { at: string })[] = [
    { type: "run.created", runId, strategy: "rehearsal", sites: [siteId], steps: 3, at: AT },
    { type: "step.opened", runId, step: 1, baseVersion: "v0", sites: [siteId], at: AT },
    { type: "task.assigned", runId, step: 1, siteId, taskId: "t1", baseVersion: "v0", deadline: AT, at: AT },
    { type: "update.received", runId, step: 1, siteId, taskId: "t1", sha256: "ab".repeat(32), bytes: 1024, numSamples: 40, at: AT },
    { type: "update.rejected", runId, step: 1, siteId, taskId: "t2", reason: "NaN in tensor head.w", code: "INVALID_ARGUMENT", at: AT },
    { type: "evaluated", runId, step: 1, version: "v1", ap: { kvasir: 0.61, "cvc-clinic": 0.42 }, at: AT },
    { type: "step.closed", runId, step: 1, version: "v1", at: AT },
    { type: "site.dropout", runId, step: 1, siteId, taskId: "t3", reason: "deadline passed", at: AT },
    { type: "run.completed", runId, finalVersion: "v3", at: AT },
    { type: "run.failed", runId, reason: "no site left", at: AT },
    { type: "run.paused", runId, step: 1, phase: "aggregating", reason: "disk full", at: AT },
    { type: "run.resumed", runId, step: 1, phase: "aggregating", reason: "disk full", pausedMs: 1500, at: AT },
    { type: "site.heartbeat", siteId, state: "training", taskId: "t1", at: AT },
    { type: "site.progress", siteId, runId, taskId: "t1", progress: 0.5, loss: 1.25, at: AT },
    { type: "site.registered", siteId, agentVersion: "0.1.0", backend: "wasm", at: AT },
    { type: "exemplar.refused", siteId, taskId: "t1", exemplarId: "cd".repeat(32), reason: "not a decodable image", at: AT },
  ];
  // An id given to publish is kept (the bus fills one in only when it is absent).
  const events = inputs.map((e, i) => ({ ...e, id: `${runId}-${i}` }) as MedfclEvent);
  assert.deepEqual(new Set(events.map((e) => e.type)), new Set(EVENT_TYPES), "the samples cover every event type");
  return events;
}

const EXPECTED_SUBJECTS: Record<EventType, (run: string, site: string) => string> = {
  "run.created": (r) => `medfcl.run.${r}.created`,
  "run.completed": (r) => `medfcl.run.${r}.completed`,
  "run.failed": (r) => `medfcl.run.${r}.failed`,
  "run.paused": (r) => `medfcl.run.${r}.paused`,
  "run.resumed": (r) => `medfcl.run.${r}.resumed`,
  "step.opened": (r) => `medfcl.run.${r}.step.1.opened`,
  "task.assigned": (r) => `medfcl.run.${r}.step.1.task.assigned`,
  "update.received": (r) => `medfcl.run.${r}.step.1.update.received`,
  "update.rejected": (r) => `medfcl.run.${r}.step.1.update.rejected`,
  evaluated: (r) => `medfcl.run.${r}.step.1.evaluated`,
  "step.closed": (r) => `medfcl.run.${r}.step.1.closed`,
  "site.dropout": (r) => `medfcl.run.${r}.step.1.dropout`,
  "site.heartbeat": (_r, s) => `medfcl.site.${s}.heartbeat`,
  "site.progress": (_r, s) => `medfcl.site.${s}.progress`,
  "site.registered": (_r, s) => `medfcl.site.${s}.registered`,
  "exemplar.refused": (_r, s) => `medfcl.site.${s}.exemplar.refused`,
};

function captureLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString("utf8"));
      cb();
    },
  });
  const logger = createLogger({ destination, pretty: false, level: "debug", name: "test" });
  return {
    logger,
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("events (no NATS)", () => {
  it("events - every type has its documented subject", () => {
    for (const e of sampleEvents("run-1", "site-a")) {
      assert.equal(eventSubject(e), EXPECTED_SUBJECTS[e.type]("run-1", "site-a"), e.type);
    }
  });

  it("events - ids with dots, spaces and wildcards stay one subject token", () => {
    const hostile = ["a.b", "x >", "*", ">", "run.*.step", "", "é", "a~2Eb"];
    const tokens = hostile.map((id) => eventSubject({ type: "site.heartbeat", siteId: id, state: "idle", at: AT, id: "e" }).split("."));
    for (const [i, t] of tokens.entries()) {
      assert.equal(t.length, 4, `"${hostile[i]}" -> ${t.join(".")}`);
      assert.match(t[2], /^[A-Za-z0-9_~-]+$/);
    }
    assert.equal(new Set(tokens.map((t) => t[2])).size, hostile.length, "distinct ids give distinct tokens");
    const s = eventSubject({ type: "step.opened", runId: "r.>", step: 2, baseVersion: "v", sites: [], at: AT, id: "e" });
    assert.equal(subjectMatches("medfcl.run.r.>", s), false);
    assert.equal(subjectMatches(runSubjectFilter("r.>"), s), true);
  });

  it("events - without NATS the bus logs once that NATS is off, logs and sinks every event, never fails", async () => {
    const { logger, lines } = captureLogger();
    const sunk: MedfclEvent[] = [];
    const bus = await createEventBus({ logger, sink: (e) => sunk.push(e) });
    assert.equal(bus.connected, false);
    assert.equal(bus.stream, null);
    const offLines = lines().filter((l) => /NATS is off/.test(String(l.msg)));
    assert.equal(offLines.length, 1);
    assert.equal(offLines[0].level, 30, "logged at info");

    const seen: string[] = [];
    const sub = await bus.subscribe(runSubjectFilter("run-1"), (_e, subject) => seen.push(subject));
    const events = sampleEvents("run-1", "site-a");
    for (const e of events) await bus.publish(e);
    await bus.publish({ type: "step.closed", runId: "run-1", step: 2 }); // `at` filled in
    sub.unsubscribe();
    await bus.publish({ type: "step.closed", runId: "run-1", step: 3 });

    assert.equal(sunk.length, events.length + 2);
    assert.match(sunk[events.length].at, /^\d{4}-\d\d-\d\dT/);
    const logged = lines().filter((l) => typeof l.subject === "string" && (l.event as MedfclEvent | undefined)?.type);
    assert.deepEqual(
      logged.map((l) => l.subject),
      sunk.map(eventSubject),
      "every event reaches the log with its subject",
    );
    assert.equal(seen.length, 13, "the in-process subscriber sees the 12 run events plus the first extra step.closed");
    await bus.close();
    await bus.close();
  });

  it("events - a transition has the same id each time it is published; other occurrences get their own; a given id is kept", async () => {
    const sunk: MedfclEvent[] = [];
    const bus = await createEventBus({ logger: silentLogger(), sink: (e) => sunk.push(e) });
    await bus.publish({ type: "step.opened", runId: "r", step: 1, baseVersion: "v", sites: [] });
    await bus.publish({ type: "step.opened", runId: "r", step: 1, baseVersion: "v", sites: [] });
    await bus.publish({ type: "update.received", runId: "r", step: 1, siteId: "s", taskId: "t", sha256: "ab", bytes: 1 });
    await bus.publish({ type: "site.heartbeat", siteId: "s", state: "idle" });
    await bus.publish({ type: "site.heartbeat", siteId: "s", state: "idle" });
    await bus.publish({ type: "site.heartbeat", siteId: "s", state: "idle", id: "mine" });
    assert.deepEqual(sunk.slice(0, 3).map((e) => e.id), ["step.opened:r:1", "step.opened:r:1", "update.received:t:ab"]);
    assert.notEqual(sunk[3].id, sunk[4].id);
    assert.match(sunk[3].id, /^[0-9a-f-]{36}$/);
    assert.equal(sunk[5].id, "mine");
    await bus.close();
  });

  it("events - a throwing sink or subscriber does not reach the caller, is logged, and is called again for the next event", async () => {
    const { logger, lines } = captureLogger();
    let sinkCalls = 0;
    let handlerCalls = 0;
    const bus = await createEventBus({
      logger,
      sink: () => {
        sinkCalls++;
        throw new Error("disk full");
      },
    });
    await bus.subscribe("medfcl.>", () => {
      handlerCalls++;
      throw new Error("bad handler");
    });
    await bus.publish({ type: "run.failed", runId: "r", reason: "x" });
    await bus.publish({ type: "run.failed", runId: "r2", reason: "y" });
    await bus.close();
    assert.equal(sinkCalls, 2, "the sink ran for both events");
    assert.equal(handlerCalls, 2, "the subscriber ran for both events");
    assert.equal(lines().filter((l) => /event sink threw/.test(String(l.msg)) && l.err === "disk full").length, 2, "each sink failure is logged with its error");
  });

  it("events - an unreachable NATS URL is a clear error naming the URL", async () => {
    const port = await freePort();
    const url = `nats://127.0.0.1:${port}`;
    await assert.rejects(
      createEventBus({ natsUrl: url, logger: silentLogger(), connectTimeoutMs: 2000 }),
      (err: unknown) => err instanceof NatsUnavailableError && err.message.includes(url) && err.code === "UNAVAILABLE",
    );
  });

  it("events - bad options are refused", async () => {
    await assert.rejects(createEventBus({ logger: silentLogger(), stream: "a.b" }), /stream/);
    const bus = await createEventBus({ logger: silentLogger() });
    await assert.rejects(bus.subscribe("medfcl..x", () => undefined), /subject filter/);
    await assert.rejects(bus.subscribe("medfcl.>.x", () => undefined), /subject filter/);
    await bus.close();
  });
});

describe("events (real nats-server)", { skip: natsSkipReason() }, () => {
  let nats: NatsServerHandle;
  before(async () => {
    nats = await startNatsServer();
  });
  after(async () => {
    await nats?.stop();
  });

  it("events - every event type is published to its subject and received by a subscriber", async () => {
    const { logger } = captureLogger();
    const bus = await createEventBus({ natsUrl: nats.url, logger });
    assert.equal(bus.connected, true);
    assert.equal(bus.stream, "MEDFCL_EVENTS");
    const received: Array<{ subject: string; event: MedfclEvent }> = [];
    await bus.subscribe(runSubjectFilter("run-sub"), (event, subject) => received.push({ subject, event }));
    await bus.subscribe(siteSubjectFilter("site-sub"), (event, subject) => received.push({ subject, event }));
    const events = sampleEvents("run-sub", "site-sub");
    for (const e of events) await bus.publish(e);
    await waitFor(() => received.length >= events.length, "all events");
    assert.equal(received.length, events.length);
    for (const e of events) {
      const got = received.find((r) => r.event.type === e.type);
      assert.ok(got, e.type);
      assert.equal(got.subject, EXPECTED_SUBJECTS[e.type]("run-sub", "site-sub"));
      assert.deepEqual(got.event, e);
    }
    await bus.close();
    assert.equal(bus.connected, false);
  });

  it("events - JetStream keeps one copy of a transition published twice (its id is the Nats-Msg-Id)", async () => {
    const bus = await createEventBus({ natsUrl: nats.url, logger: silentLogger() });
    // What a coordinator resumed after a restart may do: publish the same step.opened again.
    await bus.publish({ type: "step.opened", runId: "run-dedupe", step: 0, baseVersion: "v0", sites: ["a"] });
    await bus.publish({ type: "step.opened", runId: "run-dedupe", step: 0, baseVersion: "v0", sites: ["a"] });
    await bus.publish({ type: "step.opened", runId: "run-dedupe", step: 1, baseVersion: "v1", sites: ["a"] });
    await bus.close();
    const nc = await connect({ servers: nats.url });
    try {
      const info = await (await jetstreamManager(nc)).streams.info("MEDFCL_EVENTS", { subjects_filter: runSubjectFilter("run-dedupe") });
      assert.deepEqual(info.state.subjects, { [`${runSubjectFilter("run-dedupe").slice(0, -2)}.step.0.opened`]: 1, [`${runSubjectFilter("run-dedupe").slice(0, -2)}.step.1.opened`]: 1 });
    } finally {
      await nc.close();
    }
  });

  it("events - JetStream keeps the events durably, readable after the publisher closed", async () => {
    const bus = await createEventBus({ natsUrl: nats.url, logger: silentLogger() });
    const events = sampleEvents("run-durable", "site-durable");
    for (const e of events) await bus.publish(e);
    await bus.close();

    const nc = await connect({ servers: nats.url });
    try {
      const info = await (await jetstreamManager(nc)).streams.info("MEDFCL_EVENTS");
      assert.equal(info.config.storage, StorageType.File);
      assert.deepEqual(info.config.subjects, ["medfcl.>"]);
      assert.equal(info.config.max_age, 30 * 24 * 3600 * 1e9);
      const consumer = await jetstream(nc).consumers.get("MEDFCL_EVENTS");
      const total = info.state.messages;
      const stored: Array<{ subject: string; event: MedfclEvent }> = [];
      const batch = await consumer.fetch({ max_messages: total, expires: 3000 });
      for await (const m of batch) {
        stored.push({ subject: m.subject, event: m.json<MedfclEvent>() });
        if (stored.length === total) break;
      }
      const ours = stored.filter((s) => subjectMatches(runSubjectFilter("run-durable"), s.subject) || subjectMatches(siteSubjectFilter("site-durable"), s.subject));
      assert.deepEqual(
        ours.map((s) => s.event),
        events,
        "all events, in publish order, with their payloads",
      );
      assert.deepEqual(
        ours.map((s) => s.subject),
        events.map((e) => EXPECTED_SUBJECTS[e.type]("run-durable", "site-durable")),
      );
    } finally {
      await nc.close();
    }
  });

  it("events - the stream survives a server restart on the same store (file storage)", async () => {
    const storeDir = tempDir("medfcl-nats-store-");
    try {
      const first = await startNatsServer({ storeDir });
      const bus = await createEventBus({ natsUrl: first.url, logger: silentLogger(), stream: "RESTART_TEST" });
      await bus.publish({ type: "run.created", runId: "r", strategy: "sequential", sites: ["a"], steps: 1 });
      await bus.publish({ type: "run.completed", runId: "r" });
      await bus.close();
      await first.stop();

      const second = await startNatsServer({ storeDir });
      const { logger, lines } = captureLogger();
      const bus2 = await createEventBus({ natsUrl: second.url, logger, stream: "RESTART_TEST" });
      assert.ok(lines().some((l) => l.how === "updated"), "the existing stream is updated, not recreated");
      await bus2.close();
      const nc = await connect({ servers: second.url });
      try {
        const jsm = await jetstreamManager(nc);
        const info = await jsm.streams.info("RESTART_TEST");
        assert.equal(info.state.messages, 2);
        const last = await jsm.streams.getMessage("RESTART_TEST", { last_by_subj: "medfcl.run.r.completed" });
        assert.equal(last?.json<MedfclEvent>().type, "run.completed");
      } finally {
        await nc.close();
        await second.stop();
      }
    } finally {
      rmSync(storeDir, { recursive: true, force: true });
    }
  });

  it("events - a subject-injection attempt in an id is neutralised", async () => {
    const bus = await createEventBus({ natsUrl: nats.url, logger: silentLogger() });
    const wide: string[] = [];
    const victim: string[] = [];
    // An attacker-controlled site id that would publish as another site, or into another run.
    await bus.subscribe("medfcl.site.victim.>", (_e, s) => victim.push(s));
    await bus.subscribe("medfcl.>", (_e, s) => wide.push(s));
    await bus.publish({ type: "site.heartbeat", siteId: "victim.heartbeat.x", state: "idle" });
    await bus.publish({ type: "site.registered", siteId: "victim", agentVersion: "0" }); // control
    await bus.publish({ type: "step.opened", runId: "run-x.step.9", step: 1, baseVersion: "v0", sites: [] });
    await bus.publish({ type: "site.progress", siteId: "* >", taskId: "t", progress: 1 });
    await waitFor(() => wide.length >= 4, "4 events");
    assert.deepEqual(victim, ["medfcl.site.victim.registered"], "only the real victim's event matches its filter");
    assert.deepEqual(wide, [
      "medfcl.site.victim~2Eheartbeat~2Ex.heartbeat",
      "medfcl.site.victim.registered",
      "medfcl.run.run-x~2Estep~2E9.step.1.opened",
      "medfcl.site.~2A~20~3E.progress",
    ]);
    await bus.close();
  });

  it("events - publishing keeps going, without throwing, when the server goes away", async () => {
    const own = await startNatsServer();
    const { logger, lines } = captureLogger();
    const sunk: MedfclEvent[] = [];
    const bus = await createEventBus({ natsUrl: own.url, logger, publishTimeoutMs: 300, sink: (e) => sunk.push(e) });
    await bus.publish({ type: "run.created", runId: "r", strategy: "joint", sites: [], steps: 1 });
    await own.stop();
    await waitFor(() => !bus.connected, "the disconnect to be noticed");
    for (let i = 0; i < 3; i++) await bus.publish({ type: "step.opened", runId: "r", step: i, baseVersion: "v", sites: [] });
    assert.equal(sunk.length, 4, "the sink still gets every event");
    assert.ok(lines().some((l) => /disconnected/.test(String(l.msg))));
    await bus.close();
  });
});
