// The coordinator database: retention and integrity (store gc, store verify).
import type { VersionRecord } from "../domain.js";
import type { Db } from "./db.js";
import { type VersionRow, versionFromRow } from "./versions.js";

/** The blobs the database names, by what they are; `store gc` deletes none of `versions`, `exemplars` or `liveUpdates`. */
export interface BlobReferences {
  /** Every model version of every lineage. */
  versions: Set<string>;
  exemplars: Set<string>;
  /** Accepted updates of runs still pending or running (a round may yet aggregate them). */
  liveUpdates: Set<string>;
  /** Accepted updates of runs that ended: their record (sha256, site, norm) stays; the bytes are no longer needed. */
  endedUpdates: Set<string>;
}

export function blobReferences(db: Db): BlobReferences {
  const col = (sql: string): Set<string> => new Set((db.prepare(sql).pluck().all() as string[]));
  const updates = db.prepare("SELECT u.update_id AS id, r.state AS state FROM updates u LEFT JOIN runs r ON r.run_id = u.run_id WHERE u.accepted = 1").all() as { id: string; state: string | null }[];
  const live = new Set(updates.filter((u) => u.state === "pending" || u.state === "running").map((u) => u.id));
  return {
    versions: col("SELECT version FROM versions"),
    exemplars: col("SELECT exemplar_id FROM exemplars"),
    liveUpdates: live,
    endedUpdates: new Set(updates.map((u) => u.id).filter((id) => !live.has(id))),
  };
}

/**
 * Version rows that nothing points to: no run (base, current), step (parent, result), round or
 * child version names them. A retried aggregation that committed its version but not its round
 * left such a row beside the real one before both became one commit.
 */
export function orphanVersions(db: Db): VersionRecord[] {
  return (
    db
      .prepare(
        `SELECT * FROM versions v WHERE
           NOT EXISTS (SELECT 1 FROM runs r WHERE r.base_version = v.version OR r.current_version = v.version)
           AND NOT EXISTS (SELECT 1 FROM steps s WHERE s.version = v.version OR s.parent_version = v.version)
           AND NOT EXISTS (SELECT 1 FROM rounds o WHERE o.version = v.version)
           AND NOT EXISTS (SELECT 1 FROM versions c WHERE c.parent = v.version)
         ORDER BY v.created_at`,
      )
      .all() as VersionRow[]
  ).map(versionFromRow);
}
