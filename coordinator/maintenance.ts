/**
 * The coordinator's state dir as an operator sees it: what each blob is (`store verify`, the blob
 * metrics) and what may go (`store gc`). A version of any lineage, an exemplar and the updates of a
 * run still going are never deleted; the updates of runs that ended (their record stays) and blobs
 * the database does not name (a write whose row never committed) are.
 */
import type { VersionRecord } from "./domain.js";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Logger } from "../services/log/index.js";
import { BlobCorruptError, openBlobStore, type BlobStore } from "../services/store/index.js";
import { acquireStateLock } from "./state-dir.js";
import * as store from "./store/index.js";

export const BLOB_KINDS = ["version", "exemplar", "update", "ended-update", "unreferenced"] as const;
export type BlobKind = (typeof BLOB_KINDS)[number];

export interface BlobEntry {
  sha256: string;
  bytes: number;
  kind: BlobKind;
}

function kindOf(refs: store.BlobReferences, sha256: string): BlobKind {
  if (refs.versions.has(sha256)) return "version";
  if (refs.exemplars.has(sha256)) return "exemplar";
  if (refs.liveUpdates.has(sha256)) return "update";
  if (refs.endedUpdates.has(sha256)) return "ended-update";
  return "unreferenced";
}

export function blobInventory(db: store.Db, blobs: BlobStore): BlobEntry[] {
  const refs = store.blobReferences(db);
  return blobs.list().flatMap((sha256) => {
    try {
      return [{ sha256, bytes: statSync(blobs.pathOf(sha256)).size, kind: kindOf(refs, sha256) }];
    } catch {
      return []; // removed between the listing and the stat
    }
  });
}

export type BlobUsage = Record<BlobKind, { blobs: number; bytes: number }>;

export function blobUsage(entries: BlobEntry[]): BlobUsage {
  const usage = Object.fromEntries(BLOB_KINDS.map((k) => [k, { blobs: 0, bytes: 0 }])) as BlobUsage;
  for (const e of entries) {
    usage[e.kind].blobs++;
    usage[e.kind].bytes += e.bytes;
  }
  return usage;
}

/** Blobs `store gc` deletes: updates of runs that ended and blobs no row names. Never a version or an exemplar. */
export function gcCandidates(entries: BlobEntry[]): BlobEntry[] {
  return entries.filter((e) => e.kind === "ended-update" || e.kind === "unreferenced");
}

export function stagingFiles(blobsRoot: string): string[] {
  const dir = join(blobsRoot, "staging");
  return existsSync(dir) ? readdirSync(dir) : [];
}

export interface VerifyReport {
  blobs: number;
  bytesVerified: number;
  corrupt: { sha256: string; message: string }[];
  /** Rows whose bytes the store lacks: versions always; accepted updates while their run goes on. */
  missing: { sha256: string; what: string }[];
  orphanVersions: VersionRecord[];
  unreferenced: number;
  staging: number;
}

/** Re-hashes every blob and, with the database, checks that every needed blob is there and that no version is an orphan. */
export function verifyState(blobs: BlobStore, db: store.Db | null): VerifyReport {
  const names = blobs.list();
  const report: VerifyReport = { blobs: names.length, bytesVerified: 0, corrupt: [], missing: [], orphanVersions: [], unreferenced: 0, staging: stagingFiles(blobs.root).length };
  for (const sha256 of names) {
    try {
      report.bytesVerified += blobs.get(sha256).length;
    } catch (err) {
      if (!(err instanceof BlobCorruptError)) throw err;
      report.corrupt.push({ sha256, message: err.message });
    }
  }
  if (!db) return report;
  const refs = store.blobReferences(db);
  const present = new Set(names);
  for (const v of refs.versions) if (!present.has(v)) report.missing.push({ sha256: v, what: "model version" });
  for (const u of refs.liveUpdates) if (!present.has(u)) report.missing.push({ sha256: u, what: "accepted update of a run still going" });
  for (const e of refs.exemplars) if (!present.has(e)) report.missing.push({ sha256: e, what: "replay exemplar" });
  report.orphanVersions = store.orphanVersions(db);
  report.unreferenced = names.filter((n) => kindOf(refs, n) === "unreferenced").length;
  return report;
}

const DB_FILE = "coordinator.sqlite";

/**
 * A state dir (or its blobs/ folder) opened for inspection, read-only: safe beside a running
 * coordinator. `db` is null when the folder is a bare blob store without a database beside it.
 */
export function inspectState(dir: string): { blobs: BlobStore; db: store.Db | null; close(): void } {
  const stateDir = existsSync(join(dir, DB_FILE)) ? dir : existsSync(join(dirname(dir), DB_FILE)) ? dirname(dir) : null;
  const blobs = openBlobStore(stateDir === dir ? join(dir, "blobs") : dir, { inspectOnly: true });
  const db = stateDir ? store.openDbReadOnly(join(stateDir, DB_FILE)) : null;
  return { blobs, db, close: () => db?.close() };
}

export interface GcResult {
  usage: BlobUsage;
  candidates: BlobEntry[];
  /** Deleted (with `apply`); empty in a dry run. */
  removed: BlobEntry[];
}

/**
 * `store gc`: lists (dry run) or deletes (`apply`) the blobs no run needs. Deleting takes the state
 * dir's lock, so it refuses to run beside a coordinator (an upload in flight has no row yet).
 */
export function gcState(stateDir: string, opts: { apply: boolean; logger: Logger }): GcResult {
  const lock = opts.apply ? acquireStateLock(stateDir, opts.logger) : null;
  try {
    const blobs = openBlobStore(join(stateDir, "blobs"), { inspectOnly: !opts.apply });
    const db = store.openDbReadOnly(join(stateDir, DB_FILE));
    try {
      const entries = blobInventory(db, blobs);
      const candidates = gcCandidates(entries);
      const removed: BlobEntry[] = [];
      if (opts.apply) {
        for (const e of candidates) {
          blobs.remove(e.sha256);
          removed.push(e);
        }
      }
      return { usage: blobUsage(entries), candidates, removed };
    } finally {
      db.close();
    }
  } finally {
    lock?.release();
  }
}
