import type { ExemplarRecord } from "../../coordinator/domain.js";
import { strict as assert } from "node:assert";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import * as db from "../../coordinator/store/index.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("medfcl-exemplars-");

function row(id: string, runId: string, taskId: string): Omit<ExemplarRecord, "createdAt"> {
  return {
    exemplarId: id,
    siteId: "site-1",
    runId,
    taskId,
    domain: "kvasir",
    mime: "image/png",
    width: 8,
    height: 8,
    boxes: [],
    categories: [],
    provenance: { content_sha256: id, source_hmac: "h", site_id: "site-1", stages: [], exported_at: "2026-01-01T00:00:00.000Z" },
    size: 10,
    score: 0,
  };
}

describe("coordinator exemplars", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("exemplars - one re-offered in a later run joins that run's pool and stays in the first", () => {
    const d = db.openDb(join(dir, "a.sqlite"));
    assert.equal(db.insertExemplar(d, row("sha-1", "run-1", "t1")), true);
    assert.equal(db.insertExemplar(d, row("sha-2", "run-1", "t1")), true);
    assert.equal(db.insertExemplar(d, row("sha-1", "run-2", "t9")), true, "the later run gains it");
    assert.equal(db.insertExemplar(d, row("sha-1", "run-2", "t9")), false, "a second push to the same run adds nothing");
    assert.deepEqual(db.exemplarsForRun(d, "run-1").map((e) => e.exemplarId), ["sha-1", "sha-2"]);
    const second = db.exemplarsForRun(d, "run-2");
    assert.deepEqual(second.map((e) => [e.exemplarId, e.runId, e.taskId]), [["sha-1", "run-2", "t9"]]);
    assert.equal((d.prepare("SELECT COUNT(*) AS n FROM exemplars").get() as { n: number }).n, 2, "the bytes' metadata is stored once");
    d.close();
  });

  it("exemplars - a run's pool is in push order per step and site, whatever the clock said", () => {
    const d = db.openDb(join(dir, "order.sqlite"));
    for (const [id, task] of [["sha-z", "t-step1"], ["sha-c", "t-step0"], ["sha-a", "t-step0"], ["sha-b", "t-step1"]] as const) db.insertExemplar(d, row(id, "run-1", task));
    const addTask = d.prepare("INSERT INTO tasks (task_id, run_id, step, round, site_id, state, spec_json, base_version, deadline, created_at) VALUES (?, 'run-1', ?, 0, 'site-1', 'done', '{}', 'v0', '', '')");
    addTask.run("t-step0", 0);
    addTask.run("t-step1", 1);
    // Stored within one millisecond: the clock cannot order them, the push order does.
    d.exec("UPDATE run_exemplars SET created_at = '2026-01-01T00:00:00.000Z'");
    assert.deepEqual(db.exemplarsForRun(d, "run-1").map((e) => e.exemplarId), ["sha-c", "sha-a", "sha-z", "sha-b"]);
    d.close();
  });

  it("exemplars - a database from before run links gets them from the exemplars table on open", () => {
    const path = join(dir, "old.sqlite");
    const d = db.openDb(path);
    db.insertExemplar(d, row("sha-1", "run-1", "t1"));
    // What such a database looks like: schema version 1 and no run_exemplars table.
    d.exec("DROP TABLE run_exemplars");
    d.exec("UPDATE meta SET value = '1' WHERE key = 'schema_version'");
    d.exec("ALTER TABLE runs DROP COLUMN delta_encoding");
    d.close();
    const reopened = db.openDb(path);
    assert.deepEqual(db.exemplarsForRun(reopened, "run-1").map((e) => e.exemplarId), ["sha-1"]);
    reopened.close();
  });
});
