/**
 * The exemplar pipeline's memory between runs: how many exemplars left, per patient, and the
 * perceptual hashes of everything exported. The audit log is the source of truth (every export
 * entry carries the same facts); this file is a cache written atomically after each export and
 * rebuilt from the log when it lags (a crash between the log append and the state write).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../store/index.js";
import { type AuditEntry } from "./audit.js";
import { PrivacyStateError } from "./errors.js";

export interface ExemplarState {
  version: 2;
  site: string;
  /** Number of audit entries folded into this state; compared with the log to detect a lag. */
  auditEntries: number;
  exported: number;
  perPatient: Record<string, number>;
  phashes: { phash: string; contentSha256: string }[];
  /** sourceHmac → content hash of its latest export: what a re-offer must reproduce exactly. */
  bySource: Record<string, string>;
}

export function exemplarStatePath(stateDir: string, site: string): string {
  return join(stateDir, "privacy", `exemplar-state-${site}.json`);
}

export function emptyExemplarState(site: string): ExemplarState {
  return { version: 2, site, auditEntries: 0, exported: 0, perPatient: {}, phashes: [], bySource: {} };
}

export function foldAuditEntry(state: ExemplarState, e: AuditEntry): void {
  state.auditEntries = e.seq + 1;
  if (e.type !== "exemplar-export") return;
  state.exported++;
  if (e.patientHmac) state.perPatient[e.patientHmac] = (state.perPatient[e.patientHmac] ?? 0) + 1;
  state.phashes.push({ phash: e.phash, contentSha256: e.contentSha256 });
  state.bySource[e.sourceHmac] = e.contentSha256;
}

export function stateFromAudit(site: string, entries: AuditEntry[]): ExemplarState {
  const s = emptyExemplarState(site);
  for (const e of entries) foldAuditEntry(s, e);
  return s;
}

/** Loads the cached state, or rebuilds it from the audit entries when it is missing or behind. */
export function loadExemplarState(path: string, site: string, audit: AuditEntry[]): ExemplarState {
  if (existsSync(path)) {
    let parsed: ExemplarState;
    try {
      parsed = JSON.parse(readFileSync(path, "utf8")) as ExemplarState;
    } catch (err) {
      throw new PrivacyStateError(path, "the exemplar state is not valid JSON; delete it and it is rebuilt from the audit log", { cause: err });
    }
    // A version-1 cache lacks bySource; the log has it, so rebuild.
    if (parsed.version === 2 && parsed.site === site && parsed.auditEntries === audit.length) return parsed;
  }
  return stateFromAudit(site, audit);
}

export async function saveExemplarState(path: string, state: ExemplarState): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(state)}\n`);
}
