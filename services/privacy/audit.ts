/**
 * Append-only, hash-chained JSONL audit log, one per site. Each line is one JSON object whose
 * `hash` is sha256 over the canonical JSON of every other field, `prevHash` included, so changing,
 * removing or reordering any earlier line breaks every hash after it.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { storageFault, writeAllSync } from "../store/index.js";
import { PrivacyStateError } from "./errors.js";
import { type AuditVerifyResult, type StageRecord } from "./types.js";

export const GENESIS_HASH = "0".repeat(64);

interface AuditCommon {
  seq: number;
  site: string;
  time: string;
  prevHash: string;
  hash: string;
}

export interface ExemplarAuditEntry extends AuditCommon {
  type: "exemplar-export";
  contentSha256: string;
  sourceHmac: string;
  /** HMAC of the declared patient key; lets the per-patient cap be rebuilt from the log. */
  patientHmac?: string;
  phash: string;
  mime: string;
  width: number;
  height: number;
  stages: StageRecord[];
}

/**
 * A record exported in an earlier run, offered again with byte-identical content: nothing new
 * leaves the site, so it spends no budget, but the log still shows every time it was sent.
 */
export interface ExemplarReofferAuditEntry extends AuditCommon {
  type: "exemplar-reoffer";
  contentSha256: string;
  sourceHmac: string;
}

export interface DpSpendAuditEntry extends AuditCommon {
  type: "dp-spend";
  taskId: string;
  epsilon: number;
  totalEpsilon: number;
  delta: number;
  noiseMultiplier: number;
  sampleRate: number;
  steps: number;
  clipNorm?: number;
}

export type AuditEntry = ExemplarAuditEntry | ExemplarReofferAuditEntry | DpSpendAuditEntry;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type AuditEntryBody = DistributiveOmit<AuditEntry, "seq" | "prevHash" | "hash">;

export function auditLogPath(stateDir: string, site: string): string {
  return join(stateDir, "privacy", `audit-${site}.jsonl`);
}

/** JSON with object keys sorted at every level, so the hash does not depend on key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
}

export function entryHash(entry: Record<string, unknown>): string {
  const rest = { ...entry };
  delete rest.hash;
  return createHash("sha256").update(canonicalJson(rest)).digest("hex");
}

function splitLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/**
 * Checks every line: valid JSON, `seq` equal to its position, `prevHash` equal to the previous
 * line's `hash`, and `hash` equal to the recomputed hash. Stops at the first broken line.
 */
export function verifyAuditLog(path: string): AuditVerifyResult {
  if (!existsSync(path)) return { ok: false, entries: 0, firstBroken: { line: 0, reason: `audit log ${path} does not exist` } };
  const lines = splitLines(readFileSync(path, "utf8"));
  let prev = GENESIS_HASH;
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const broken = (reason: string): AuditVerifyResult => ({ ok: false, entries: lines.length, firstBroken: { line, reason } });
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(lines[i]) as Record<string, unknown>;
    } catch {
      return broken(`entry ${line} is not valid JSON`);
    }
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) return broken(`entry ${line} is not a JSON object`);
    if (entry.seq !== i) return broken(`entry ${line} has seq ${String(entry.seq)}, expected ${i} (an entry was removed or inserted)`);
    if (entry.prevHash !== prev) return broken(`entry ${line} (seq ${i}) does not chain to the entry before it: prevHash differs`);
    const h = entryHash(entry);
    if (entry.hash !== h) return broken(`entry ${line} (seq ${i}) was modified: its content hashes to ${h.slice(0, 12)}…, not the recorded ${String(entry.hash).slice(0, 12)}…`);
    prev = h;
  }
  return { ok: true, entries: lines.length };
}

/** All entries of a log that verifies; throws naming the broken entry otherwise. */
export function readAuditLog(path: string): AuditEntry[] {
  if (!existsSync(path)) return [];
  const v = verifyAuditLog(path);
  if (!v.ok) {
    throw new PrivacyStateError(path, `the audit log is broken at ${v.firstBroken?.reason}. Nothing more is exported until it is restored from a backup; run "medfcl privacy verify-log ${path}".`, {
      details: { line: v.firstBroken?.line },
    });
  }
  return splitLines(readFileSync(path, "utf8")).map((l) => JSON.parse(l) as AuditEntry);
}

/**
 * Appends one entry, chained to the last line, and fsyncs. The caller holds the only writer for a
 * site (the agent); the file is opened in append mode so a crash leaves at most a torn last line,
 * which verification reports. A write that cannot complete (a full disk: StorageWriteError) is cut
 * back to the log's previous length, so the log stays whole and the export it records is not made.
 */
export function appendAuditEntry(path: string, body: AuditEntryBody, tail?: { seq: number; hash: string }): AuditEntry {
  let last = tail;
  if (!last) {
    const entries = readAuditLog(path);
    last = entries.length === 0 ? { seq: -1, hash: GENESIS_HASH } : { seq: entries[entries.length - 1].seq, hash: entries[entries.length - 1].hash };
  }
  const entry = { ...body, seq: last.seq + 1, prevHash: last.hash } as Record<string, unknown>;
  entry.hash = entryHash(entry);
  let fd: number;
  try {
    mkdirSync(dirname(path), { recursive: true });
    fd = openSync(path, "a", 0o644);
  } catch (err) {
    throw storageFault(err, path) ?? err;
  }
  const before = fstatSync(fd).size;
  try {
    writeAllSync(fd, Buffer.from(`${JSON.stringify(entry)}\n`), path);
    fsyncSync(fd);
  } catch (err) {
    try {
      ftruncateSync(fd, before);
      fsyncSync(fd);
    } catch {
      /* a torn last line is what verification reports; the write's own error says why */
    }
    throw storageFault(err, path) ?? err;
  } finally {
    closeSync(fd);
  }
  return entry as unknown as AuditEntry;
}
