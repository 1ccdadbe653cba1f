// The coordinator database: exemplars.
import { z } from "zod";
import { type ExemplarRecord, exemplarBoxSchema, exemplarCategorySchema, exemplarProvenanceSchema } from "../domain.js";
import { type Db, nowIso } from "./db.js";
import { parseJson } from "./parse.js";

interface ExemplarRow {
  exemplar_id: string;
  site_id: string;
  run_id: string;
  task_id: string;
  domain: string;
  mime: string;
  width: number;
  height: number;
  boxes_json: string;
  categories_json: string;
  provenance_json: string;
  size: number;
  score: number;
  created_at: string;
}

function exemplarFromRow(r: ExemplarRow): ExemplarRecord {
  const where = (field: string) => ({ table: "exemplars", key: r.exemplar_id, field });
  return {
    exemplarId: r.exemplar_id,
    siteId: r.site_id,
    runId: r.run_id,
    taskId: r.task_id,
    domain: r.domain,
    mime: r.mime,
    width: r.width,
    height: r.height,
    boxes: parseJson(z.array(exemplarBoxSchema), r.boxes_json, where("boxes_json")),
    categories: parseJson(z.array(exemplarCategorySchema), r.categories_json, where("categories_json")),
    provenance: parseJson(exemplarProvenanceSchema, r.provenance_json, where("provenance_json")),
    size: r.size,
    score: r.score,
    createdAt: r.created_at,
  };
}

/**
 * Stores an exemplar (once: its id is its content hash) and links it to the pushing task's run. A
 * site that re-offers an exemplar it exported in an earlier run adds only the link, so the new run's
 * replay pool holds it. Returns whether the run gained it.
 */
export function insertExemplar(db: Db, e: Omit<ExemplarRecord, "createdAt">): boolean {
  const now = nowIso();
  const tx = db.transaction(() => {
    db.prepare(
      `INSERT OR IGNORE INTO exemplars (exemplar_id, site_id, run_id, task_id, domain, mime, width, height, boxes_json,
         categories_json, provenance_json, size, score, created_at)
       VALUES (@exemplar_id, @site_id, @run_id, @task_id, @domain, @mime, @width, @height, @boxes_json,
         @categories_json, @provenance_json, @size, @score, @now)`,
    ).run({
      exemplar_id: e.exemplarId,
      site_id: e.siteId,
      run_id: e.runId,
      task_id: e.taskId,
      domain: e.domain,
      mime: e.mime,
      width: e.width,
      height: e.height,
      boxes_json: JSON.stringify(e.boxes),
      categories_json: JSON.stringify(e.categories),
      provenance_json: JSON.stringify(e.provenance),
      size: e.size,
      score: e.score,
      now,
    });
    return db
      .prepare("INSERT OR IGNORE INTO run_exemplars (run_id, exemplar_id, site_id, task_id, created_at) VALUES (?, ?, ?, ?, ?)")
      .run(e.runId, e.exemplarId, e.siteId, e.taskId, now).changes;
  });
  return tx() > 0;
}

export function getExemplar(db: Db, id: string): ExemplarRecord | undefined {
  const row = db.prepare("SELECT * FROM exemplars WHERE exemplar_id = ?").get(id) as ExemplarRow | undefined;
  return row && exemplarFromRow(row);
}

export function exemplarCount(db: Db): number {
  return (db.prepare("SELECT COUNT(*) AS n FROM exemplars").get() as { n: number }).n;
}

/**
 * The exemplars a run received; run_id and task_id are this run's. Ordered by step, site, then the
 * order the site sent them in (one push is one ordered stream), never by clock: two exemplars
 * stored in the same millisecond must not swap places between runs, or the seeded replay samplers
 * that index this list would pick different buffers for the same seed.
 */
export function exemplarsForRun(db: Db, runId: string): ExemplarRecord[] {
  return (
    db
      .prepare(
        `SELECT e.exemplar_id, l.site_id, l.run_id, l.task_id, e.domain, e.mime, e.width, e.height, e.boxes_json,
                e.categories_json, e.provenance_json, e.size, e.score, l.created_at
           FROM run_exemplars l JOIN exemplars e ON e.exemplar_id = l.exemplar_id
           LEFT JOIN tasks t ON t.task_id = l.task_id
          WHERE l.run_id = ? ORDER BY t.step, l.site_id, l.rowid`,
      )
      .all(runId) as ExemplarRow[]
  ).map(exemplarFromRow);
}
