import { strict as assert } from "node:assert";
import { copyFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import * as store from "../../coordinator/store/index.js";
import { tempDir } from "../helpers/temp.js";

const FIXTURE = new URL("../fixtures/coordinator-db/coordinator-v1.sqlite", import.meta.url).pathname;
const dir = tempDir("medfcl-store-");
const R1 = "11111111-1111-4111-8111-111111111111";
const R2 = "22222222-2222-4222-8222-222222222222";

/** A private copy of the fixture: opening migrates it in place. */
function fixtureCopy(name: string): string {
  const path = join(dir, name);
  copyFileSync(FIXTURE, path);
  return path;
}

function storedVersion(path: string): string {
  const d = new Database(path, { readonly: true });
  try {
    return (d.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string }).value;
  } finally {
    d.close();
  }
}

describe("coordinator store", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("store - a database written by the previous release (schema 1) opens, migrates to the current schema and keeps its data", () => {
    const path = fixtureCopy("v1.sqlite");
    assert.equal(storedVersion(path), "1", "the fixture is a schema-1 database");
    const d = store.openDb(path);
    try {
      assert.equal(store.SCHEMA_VERSION, 5);
      assert.equal(store.storedSchemaVersion(d), store.SCHEMA_VERSION);

      const run = store.getRun(d, R1)!;
      assert.equal(run.name, "fixture-rehearsal");
      assert.equal(run.strategy, "rehearsal");
      assert.equal(run.state, "completed");
      assert.deepEqual(run.sites, ["site-a", "site-b"]);
      assert.equal(run.evaluation, "central", "a run stored before evaluation at the sites was evaluated centrally");
      assert.deepEqual(run.options, { buffer: "4", sampler: "random", mix: "0.5" });
      assert.deepEqual(run.hyper, { lr: 1e-4, textLr: 1e-5, weightDecay: 0, batchSize: 2, epochs: 1, freezeStages: 0, gradClip: 0, seed: 7 });
      assert.equal(run.deltaEncoding, "fp32", "runs of schema 1 had no delta encoding: fp32");
      assert.equal(run.dropoutPolicy, "skip");
      assert.equal(run.currentVersion, "d".repeat(64));
      const failed = store.getRunByName(d, "fixture-joint")!;
      assert.equal(failed.state, "failed");
      assert.equal(failed.dropoutPolicy, "fail");
      assert.match(failed.error ?? "", /refused: privacy budget/);

      const steps = store.listSteps(d, R1);
      assert.deepEqual(
        steps.map((s) => [s.index, s.state, s.domain, s.sites, s.version, s.dropouts]),
        [
          [0, "closed", "kvasir", ["site-a"], "c".repeat(64), []],
          [1, "closed", "etis", ["site-b"], "d".repeat(64), []],
        ],
      );
      assert.deepEqual(store.roundsOfStep(d, R1, 1), [{ round: 0, version: "d".repeat(64) }]);

      const tasks = store.tasksOfRun(d, R1);
      assert.deepEqual(tasks.map((t) => [t.taskId, t.state, t.siteId]), [["t0", "done", "site-a"], ["t1", "done", "site-b"]]);
      assert.equal(tasks[0].spec.exemplarsWanted, 2);
      assert.equal(tasks[1].spec.shotsSelection, "random", "a task stored before shotsSelection reads as random");
      assert.deepEqual(tasks[1].spec.exemplarIds, ["e".repeat(64)]);
      const refused = store.getTask(d, "t2")!;
      assert.equal(refused.state, "refused");
      assert.equal(refused.reason, "privacy budget");
      assert.equal(refused.spec.exemplarSampler, "random", "an empty sampler reads as random");
      assert.equal(refused.spec.shotsSelection, "kcenter");

      assert.deepEqual(store.versionsForRun(d, R1).map((v) => [v.step, v.sites]), [[-1, []], [0, ["site-a"]], [1, ["site-b"]]]);
      const [accepted] = store.acceptedUpdatesForTask(d, "t0");
      assert.deepEqual([accepted.numSamples, accepted.norm, accepted.encoding, accepted.metrics], [12, 0.5, "fp32", [{ name: "loss", value: 0.4, step: 3 }]]);
      assert.deepEqual(store.rejectedUpdatesForRun(d, R1).map((u) => u.reason), ["delta L2 norm 99 exceeds the bound 50"]);
      const [exemplar] = store.exemplarsForRun(d, R1);
      assert.equal(exemplar.exemplarId, "e".repeat(64));
      assert.deepEqual(exemplar.boxes, [{ x: 1, y: 2, width: 3, height: 4, category_id: 1 }]);
      assert.equal(exemplar.provenance.stages[0].name, "pixels");
      assert.deepEqual(
        store.metricsForRun(d, R1).map((m) => [m.name, m.value]),
        [["loss", 0.4], ["dp_epsilon", 1.5]],
      );
      const evals = store.evaluationsForRun(d, R1);
      assert.deepEqual(evals.map((e) => [e.step, e.domain, e.ap]), [[-1, "etis", 0.5], [-1, "kvasir", 1.25], [0, "etis", 3.5], [0, "kvasir", 20.125], [1, "etis", 12.75], [1, "kvasir", 15.0625]]);
      assert.deepEqual(evals[5].perCategoryAp, { "1": 15.0625 });
      assert.deepEqual(store.notesOfSite(d, "site-b").map((n) => n.note), ["refused: privacy budget"]);
      assert.equal(store.getSite(d, "site-a")!.manifest.num_images, 12);
      assert.deepEqual(store.listRuns(d, { limit: 10, offset: 0 }).map((r) => r.name), ["fixture-rehearsal", "fixture-joint"]);
      assert.equal(store.getRun(d, R2)!.hyper.weightDecay, 0.05);
      // Schema 5: central results of eval workers, one per (version, domain), the first one kept.
      assert.equal(store.getCentralEvaluation(d, "c".repeat(64), "kvasir"), null);
      const first = { ok: true as const, version: "c".repeat(64), domain: "kvasir", worker: "w1", evaluation: { domain: "kvasir", ap: 20.125, ap50: 30, stats: [0.2], perCategoryAp: { 1: 0.2 } } };
      assert.equal(store.recordCentralEvaluation(d, first), true);
      assert.equal(store.recordCentralEvaluation(d, { ...first, worker: "w2", evaluation: { ...first.evaluation, ap: 99 } }), false, "a second answer for the cell is ignored");
      assert.deepEqual(store.getCentralEvaluation(d, "c".repeat(64), "kvasir"), first);
      store.recordCentralEvaluation(d, { ok: false, version: "d".repeat(64), domain: "etis", worker: "jetstream", reason: "max deliveries" });
      assert.deepEqual(store.centralFailures(d, ["c".repeat(64), "d".repeat(64)]), [{ version: "d".repeat(64), domain: "etis", reason: "max deliveries" }]);
      store.clearCentralFailure(d, "d".repeat(64), "etis");
      assert.equal(store.getCentralEvaluation(d, "d".repeat(64), "etis"), null, "a failure is forgotten before the version is evaluated again");
    } finally {
      d.close();
    }
    assert.equal(storedVersion(path), String(store.SCHEMA_VERSION), "the version bump is on disk");
    // A second open has nothing left to migrate and reads the same.
    const again = store.openDb(path);
    try {
      assert.deepEqual(store.migrate(again), []);
      assert.equal(store.tasksOfRun(again, R1).length, 2);
    } finally {
      again.close();
    }
  });

  it("store - siteSession follows every re-registration, and a rolled-back one leaves the stored session", () => {
    const db = store.openDb(":memory:");
    const site = (sessionId: string) => ({ siteId: "s1", domain: "d", task: "polyp", manifest: { num_images: 1 }, backend: "wasm", agentVersion: "1", sessionId });
    assert.equal(store.siteSession(db, "s1"), undefined, "an unknown site has no session");
    store.upsertSite(db, site("first"));
    assert.equal(store.siteSession(db, "s1"), "first");
    assert.equal(store.siteSession(db, "s1"), "first", "asked again (from memory)");
    store.upsertSite(db, site("second"));
    assert.equal(store.siteSession(db, "s1"), "second", "a re-registration is seen at once");
    assert.throws(() =>
      db.transaction(() => {
        store.upsertSite(db, site("rolled-back"));
        throw new Error("abort");
      })(),
    );
    assert.equal(store.siteSession(db, "s1"), "second", "the rolled-back session is not served");
    db.close();
  });

  it("store - a database of a newer schema version is refused with a clear error and left as it is", () => {
    const path = fixtureCopy("newer.sqlite");
    const d = new Database(path);
    d.prepare("UPDATE meta SET value = '7' WHERE key = 'schema_version'").run();
    d.close();
    assert.throws(
      () => store.openDb(path),
      (err: unknown) => err instanceof store.SchemaTooNewError && err.found === 7 && new RegExp(`schema version 7; this coordinator knows versions up to ${store.SCHEMA_VERSION}`).test((err as Error).message),
    );
    assert.equal(storedVersion(path), "7", "nothing was written");
  });

  it("store - a row that does not parse is an error naming the table, the row and the field", () => {
    const path = fixtureCopy("corrupt.sqlite");
    const d = store.openDb(path);
    try {
      d.prepare("UPDATE runs SET hyper_json = ? WHERE run_id = ?").run(JSON.stringify({ lr: "fast" }), R1);
      assert.throws(() => store.getRun(d, R1), (err: unknown) => err instanceof store.StoreCorruptError && new RegExp(`runs row "${R1}" field hyper.lr`).test((err as Error).message));
      d.prepare("UPDATE tasks SET spec_json = '{not json' WHERE task_id = 't0'").run();
      assert.throws(() => store.getTask(d, "t0"), (err: unknown) => err instanceof store.StoreCorruptError && /tasks row "t0" field spec_json is not JSON/.test((err as Error).message));
      d.prepare("UPDATE tasks SET state = 'exploded' WHERE task_id = 't1'").run();
      assert.throws(() => store.getTask(d, "t1"), /tasks row "t1" field state/);
    } finally {
      d.close();
    }
  });

  it("store - a finished task keeps how it ended: a late state change is refused", () => {
    const d = store.openDb(fixtureCopy("states.sqlite"));
    try {
      assert.equal(store.setTaskState(d, "t2", "failed", "late report"), false);
      assert.equal(store.getTask(d, "t2")!.state, "refused");
      assert.equal(store.getTask(d, "t2")!.reason, "privacy budget");
      assert.equal(store.setTaskState(d, "no-such-task", "done"), false);
    } finally {
      d.close();
    }
  });
});
