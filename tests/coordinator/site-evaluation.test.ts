// Evaluation at the sites, protocol level: a real coordinator (gRPC, SQLite, the round runner) and
// in-process agents whose training and evaluation are stand-ins (the numbers they return are the
// point here; tests/integration/site-evaluation.test.ts runs the real ones).
import { strict as assert } from "node:assert";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { agentSchema } from "../../services/config/index.js";
import { silentLogger } from "../../services/log/index.js";
import { createAdminClient, evaluationPlacementWire, protoRoot } from "../../services/transport/index.js";
import { defaultHyper } from "../../coordinator/admin-service.js";
import { runAgent } from "../../site-agent/agent.js";
import { call, createSiteClient } from "../../site-agent/client.js";
import { TaskRefusedError } from "../../site-agent/errors.js";
import type { SiteWork } from "../../site-agent/types.js";
import type { RunningCoordinator } from "../../coordinator/index.js";
import * as store from "../../coordinator/store/index.js";
import type { SiteEvaluationResult } from "../../generated/medfcl/v1/SiteEvaluationResult.js";
import { constantDelta, encodedDelta, manifestOf, startTestCoordinator, testManifest } from "../helpers/federation.js";
import { tempDir } from "../helpers/temp.js";

const TEST_SET = { num_images: 12, num_annotations: 12, categories: [{ id: 1, name: "polyp", prompt: { prefix: "", name: "polyp", suffix: "" } }], annotations_sha256: "1".repeat(64) };

/** 12 statistics that name the site and the step, so every cell of R says where it came from. */
function statsFor(siteIndex: number, step: number): number[] {
  const ap = 0.1 * (siteIndex + 1) + 0.01 * (step + 1);
  return [ap, ap + 0.05, ap, ap, ap, ap, ap, ap, ap, -1, ap, ap];
}

type Evaluate = NonNullable<SiteWork["evaluate"]>;

/** A site that trains a constant delta and evaluates with `evaluate` (none: an agent built before site evaluation). */
function lightWork(domain: string, evaluate?: Evaluate): SiteWork {
  return {
    manifest: () => testManifest(domain),
    checkTask: () => undefined,
    async train(_task, base) {
      const delta = constantDelta(base, 1e-4);
      return { delta: encodedDelta(delta), manifest: manifestOf(delta), encoding: "fp32", numSamples: 10, metrics: [] };
    },
    offerExemplars: () => Promise.resolve([]),
    ...(evaluate ? { testSet: () => TEST_SET, evaluate } : {}),
  };
}

function answering(siteIndex: number): Evaluate {
  return async (task, model) => {
    await model(); // the version must be downloadable by the site that evaluates it
    return { stats: statsFor(siteIndex, task.step), per_category: [{ category_id: 1, ap: statsFor(siteIndex, task.step)[0] }], num_images: TEST_SET.num_images };
  };
}

interface Federation {
  coord: RunningCoordinator;
  stop(siteId?: string): Promise<void>;
}

async function federation(works: Record<string, SiteWork>): Promise<Federation> {
  // Liveness reaches SQLite once a second (ctx.liveness) and these agents share the test's
  // event loop with the coordinator: silence must be well above a second, even on a loaded machine.
  const coord = await startTestCoordinator({ heartbeatIntervalMs: 200, heartbeatMisses: 15 });
  const agents = new Map<string, { abort: AbortController; done: Promise<unknown> }>();
  for (const [siteId, work] of Object.entries(works)) {
    const config = agentSchema.parse({ siteId, coordinator: coord.address, insecure: true, stateDir: tempDir("medfcl-site-eval-") });
    const abort = new AbortController();
    agents.set(siteId, { abort, done: runAgent({ config, logger: silentLogger(), work, signal: abort.signal }) });
  }
  return {
    coord,
    async stop(siteId) {
      for (const [id, a] of agents) {
        if (siteId && id !== siteId) continue;
        a.abort.abort();
        await a.done;
      }
      if (!siteId) await coord.close();
    },
  };
}

async function runToEnd(coord: RunningCoordinator, name: string, sites: string[], evaluation: "sites" | "both" | "central") {
  const admin = createAdminClient(coord.address, { insecure: true });
  let runId = "";
  for (let i = 0; !runId; i++) {
    runId = await admin
      .createRun({ model: "nano", name, strategy: "sequential", sites, seed: 1, evaluation: evaluationPlacementWire.toWire(evaluation) })
      .then((r) => r.run_id, (err: Error) => (i > 100 ? Promise.reject(err) : ""));
    if (!runId) await new Promise((r) => setTimeout(r, 100));
  }
  const run = await admin.waitForRun(runId, { pollMs: 100, timeoutMs: 60_000 });
  const audit = await admin.getAudit(runId);
  admin.close();
  return { run, audit };
}

describe("coordinator - evaluation at the sites", () => {
  const open: Federation[] = [];
  after(async () => {
    for (const f of open) await f.stop();
  });

  it("site evaluation - with no central test set, R comes from the sites' statistics; a refusing site's cells stay empty with its reason and ACC drops those terms", async () => {
    const f = await federation({
      "site-a": lightWork("dom-a", answering(0)),
      "site-b": lightWork("dom-b", answering(1)),
      "site-c": lightWork("dom-c", () => Promise.reject(new TaskRefusedError("the test split has 4 images, fewer than agent.evalMinImages (10)"))),
    });
    open.push(f);
    assert.deepEqual(f.coord.ctx.config.evalSets, {}, "the coordinator holds no test set");
    const { run, audit } = await runToEnd(f.coord, "at-sites", ["site-a", "site-b", "site-c"], "sites");
    assert.equal(run.state, "completed", run.error);
    assert.equal(run.evaluation, "EVALUATION_PLACEMENT_SITES");
    const m = audit.matrix!;
    assert.deepEqual(m.steps, ["dom-a", "dom-b", "dom-c"]);
    assert.deepEqual(m.domains, ["dom-a", "dom-b", "dom-c"]);
    m.rows.forEach((row, step) => {
      assert.equal(row.cells[0].value, Math.max(0, statsFor(0, step)[0]) * 100, `R[${step}][dom-a] is site-a's number`);
      assert.equal(row.cells[1].value, Math.max(0, statsFor(1, step)[0]) * 100, `R[${step}][dom-b] is site-b's number`);
      assert.equal(row.cells[2].missing, true);
      assert.match(row.cells[2].missing_reason, /^site-c refused: the test split has 4 images/);
    });
    // ACC = mean over the trained domains present in the last row: dom-c's term is dropped.
    const acc = audit.metrics.find((x) => x.name === "acc")!.value;
    assert.equal(acc, (m.rows[2].cells[0].value + m.rows[2].cells[1].value) / 2);
    // The base model was evaluated at the sites too (FWT needs it), and the stored source says who.
    const evals = store.evaluationsForRun(f.coord.ctx.db, run.run_id);
    assert.ok(evals.some((e) => e.step === -1 && e.domain === "dom-a" && e.source === "site:site-a"));
    assert.ok(evals.every((e) => e.source.startsWith("site:")), "nothing was evaluated centrally");
    const dir = join(f.coord.ctx.runsDir, "at-sites");
    const evaluation = JSON.parse(readFileSync(join(dir, "evaluation.json"), "utf8")) as { placement: string; missing: { step: string; site: string; reason: string }[] };
    assert.equal(evaluation.placement, "sites");
    assert.deepEqual(evaluation.missing.map((x) => x.step), ["base", "dom-a", "dom-b", "dom-c"]);
    assert.ok(evaluation.missing.every((x) => x.site === "site-c" && /refused/.test(x.reason)));
    const R = JSON.parse(readFileSync(join(dir, "R.json"), "utf8")) as { ap: (number | null)[][] };
    assert.deepEqual(R.ap.map((r) => r[2]), [null, null, null]);
  });

  it("site evaluation - a site that goes silent before evaluating leaves an empty cell that says so, and an agent without a test split (v1) still trains", async () => {
    let releaseStuck: () => void = () => {};
    const f = await federation(
      {
        "site-a": lightWork("dom-a", answering(0)),
        // Built before evaluation at the sites: no test split, no evaluate; it trains as before.
        "site-old": lightWork("dom-old"),
        "site-gone": lightWork("dom-gone", (_task, _model, signal) => new Promise((_, reject) => {
          releaseStuck = () => reject(new Error("stopped"));
          signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
        })),
      },
    );
    open.push(f);
    // The agent of site-gone stops (its process ends) while it holds the base model's evaluation.
    const stopGone = (async () => {
      for (let i = 0; i < 200; i++) {
        const tasks = store.evalTasksForStep(f.coord.ctx.db, store.listRuns(f.coord.ctx.db, { limit: 5, offset: 0 })[0]?.runId ?? "", -1);
        if (tasks.some((t) => t.siteId === "site-gone" && t.state === "delivered")) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await f.stop("site-gone");
      releaseStuck();
    })();
    const { run, audit } = await runToEnd(f.coord, "gone", ["site-a", "site-old", "site-gone"], "sites");
    await stopGone;
    assert.equal(run.state, "completed", run.error);
    assert.deepEqual(run.steps.map((s) => s.dropouts), [[], [], ["site-gone"]], "site-gone is gone for its training step too");
    const m = audit.matrix!;
    assert.equal(m.rows[0].cells[0].missing, false);
    assert.match(m.rows[0].cells[1].missing_reason, /site-old holds no test split/);
    assert.match(m.rows[0].cells[2].missing_reason, /^site-gone: (no heartbeat for \d+ s|deadline)/);
    const tasks = store.tasksOfRun(f.coord.ctx.db, run.run_id);
    assert.equal(tasks.find((t) => t.siteId === "site-old")?.state, "done", "the v1 agent's update was taken");
  });
});

describe("coordinator - ReportEvaluation accepts COCO statistics and nothing else", () => {
  let coord: RunningCoordinator;
  let client: ReturnType<typeof createSiteClient>;
  let n = 0;
  /** A fresh eval task addressed to site-x, as the round runner would have made it. */
  const taskId = (): string => {
    const id = `eval-${n++}`;
    store.insertEvalTask(coord.ctx.db, { taskId: id, runId: "r", step: 0, siteId: "site-x", domain: "dom-x", version: "v".repeat(64), state: "delivered", deadline: new Date(Date.now() + 60_000).toISOString(), reason: null });
    return id;
  };

  before(async () => {
    coord = await startTestCoordinator();
    client = createSiteClient({ address: coord.address, insecure: true });
    await call(client.Register.bind(client), { site_id: "site-x", agent_version: "test", manifest: testManifest("dom-x"), backend: "wasm", test_set: TEST_SET });
    store.insertRun(coord.ctx.db, { runId: "r", name: "r", strategy: "sequential", state: "running", sites: ["site-x"], options: {}, hyper: defaultHyper("nano"), model: "nano", seed: 1, baseVersion: null, dropoutPolicy: "skip", deltaEncoding: "fp32", evaluation: "sites", secureAggregation: false, secureAggregationThreshold: 0 });
  });
  after(async () => {
    client?.close();
    await coord?.close();
  });

  const good = (): SiteEvaluationResult => ({ stats: statsFor(0, 0), per_category: [{ category_id: 1, ap: 0.2 }], num_images: TEST_SET.num_images });

  it("site evaluation - 11 statistics, an undeclared category, an AP out of range or another image count are INVALID_ARGUMENT, naming the field", async () => {
    const report = (result: SiteEvaluationResult) => call(client.ReportEvaluation.bind(client), { site_id: "site-x", task_id: taskId(), result });
    const cases: [SiteEvaluationResult, RegExp][] = [
      [{ ...good(), stats: statsFor(0, 0).slice(0, 11) }, /result\.stats holds 11 values/],
      [{ ...good(), per_category: [{ category_id: 7, ap: 0.2 }] }, /category 7, which the site's test split does not declare/],
      [{ ...good(), per_category: [{ category_id: 1, ap: 3 }] }, /per_category\[0\]\.ap is 3/],
      [{ ...good(), stats: [...statsFor(0, 0).slice(0, 11), Number.NaN] }, /result\.stats\[11\] is NaN/],
      [{ ...good(), num_images: 11 }, /num_images is 11 but the site declared a test split of 12/],
    ];
    for (const [result, message] of cases) {
      await assert.rejects(report(result), (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && message.test(err.details), String(message));
    }
    const ok = await call<object, { accepted: boolean; duplicate: boolean }>(client.ReportEvaluation.bind(client), { site_id: "site-x", task_id: taskId(), result: good() });
    assert.deepEqual(ok, { accepted: true, duplicate: false });
  });

  it("site evaluation - fields the proto does not have (an image, detections) are dropped at decoding: the state dir never holds them", async () => {
    // Encode a well-formed request, then append fields a rogue site might smuggle: field 15 with
    // "image" bytes, field 16 with a detection as JSON. Protobuf readers skip unknown fields.
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => join(protoRoot(), target);
    root.loadSync("medfcl/v1/site.proto", { keepCase: true });
    const Req = root.lookupType("medfcl.v1.ReportEvaluationRequest");
    const id = taskId();
    const known = Req.encode(Req.fromObject({ site_id: "site-x", task_id: id, result: good() })).finish();
    const smuggledImage = Buffer.from("PRIVATE-TEST-IMAGE-" + "\u00ff".repeat(40) + "-END");
    const smuggledDetection = Buffer.from(JSON.stringify({ image_id: 4242, bbox: [13.37, 42.42, 99.5, 77.25], score: 0.987654 }));
    const w = protobuf.Writer.create();
    w.uint32((15 << 3) | 2).bytes(smuggledImage);
    w.uint32((16 << 3) | 2).bytes(smuggledDetection);
    const wire = Buffer.concat([known, w.finish()]);
    const res = await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest("/medfcl.v1.SiteService/ReportEvaluation", (b: Buffer) => b, (b: Buffer) => b, wire, (err, value) => (err ? reject(err) : resolve(value!))),
    );
    assert.ok(res.length >= 0);
    assert.equal(store.getEvalTask(coord.ctx.db, id)?.state, "done", "the known part was taken");
    coord.ctx.liveness.flush();
    coord.ctx.db.pragma("wal_checkpoint(FULL)");
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(coord.ctx.config.stateDir);
    // The search reads what was stored: the task id the request carried is there.
    assert.ok(files.some((p) => readFileSync(p).indexOf(Buffer.from(id)) >= 0), "the known fields of the request are in the state dir");
    for (const p of files) {
      const bytes = readFileSync(p);
      assert.equal(bytes.indexOf(smuggledImage), -1, `${p} holds the smuggled image`);
      assert.equal(bytes.indexOf(Buffer.from("PRIVATE-TEST-IMAGE")), -1, `${p} holds the smuggled image`);
      assert.equal(bytes.indexOf(Buffer.from("42.42")), -1, `${p} holds the smuggled detection`);
    }
  });
});
