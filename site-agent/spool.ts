import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../services/log/index.js";
import { storageFault, writeFileAtomicSync } from "../services/store/index.js";
import type { UpdateHeader } from "../generated/medfcl/v1/UpdateHeader.js";
import { TransferError } from "./errors.js";

/**
 * Finished local work, kept on disk until the coordinator has it. A delta is spooled (atomically,
 * with its sha256 in the header) as soon as training ends, so a failed upload, a coordinator
 * restart or an agent crash costs a retry of the upload, never a retraining.
 */
export interface SpooledUpdate {
  /** The UpdateHeader as it will be sent; `sha256` and `size` describe `delta`. */
  header: UpdateHeader & { sha256: string; size: number; task_id: string; base_version: string };
  /** True once the task's exemplars were pushed (they go before the update). */
  exemplarsPushed: boolean;
  spooledAt: string;
}

function spoolDir(stateDir: string): string {
  return join(stateDir, "spool");
}

/** Task ids come from the coordinator; anything but a plain token is hashed into a file name. */
function fileBase(taskId: string): string {
  return /^[A-Za-z0-9_-]{1,128}$/.test(taskId) ? taskId : createHash("sha256").update(taskId).digest("hex");
}

function paths(stateDir: string, taskId: string): { delta: string; meta: string } {
  const base = join(spoolDir(stateDir), fileBase(taskId));
  return { delta: `${base}.safetensors`, meta: `${base}.json` };
}

/**
 * Writes the delta, then its header: the header's presence is the commit of the spool entry. A
 * write that cannot complete (StorageWriteError: the disk is full) leaves no part of the entry.
 */
export function writeSpool(stateDir: string, header: SpooledUpdate["header"], delta: Buffer): SpooledUpdate {
  const p = paths(stateDir, header.task_id);
  const entry: SpooledUpdate = { header, exemplarsPushed: false, spooledAt: new Date().toISOString() };
  try {
    mkdirSync(spoolDir(stateDir), { recursive: true });
    writeFileAtomicSync(p.delta, delta, { sha256: header.sha256 });
    writeFileAtomicSync(p.meta, JSON.stringify(entry));
  } catch (err) {
    rmSync(p.delta, { force: true });
    throw storageFault(err, p.delta) ?? err;
  }
  return entry;
}

export function markExemplarsPushed(stateDir: string, entry: SpooledUpdate): void {
  entry.exemplarsPushed = true;
  writeFileAtomicSync(paths(stateDir, entry.header.task_id).meta, JSON.stringify(entry));
}

/**
 * The spooled update of a task, verified against its checksum; null when there is none. A damaged
 * entry is removed (and logged), so the task is trained again rather than a wrong delta uploaded.
 */
export function readSpool(stateDir: string, taskId: string, logger?: Logger): { entry: SpooledUpdate; delta: Buffer } | null {
  const p = paths(stateDir, taskId);
  if (!existsSync(p.meta)) return null;
  try {
    const entry = JSON.parse(readFileSync(p.meta, "utf8")) as SpooledUpdate;
    const delta = readFileSync(p.delta);
    const sha = createHash("sha256").update(delta).digest("hex");
    if (entry.header.task_id !== taskId || sha !== entry.header.sha256 || delta.length !== Number(entry.header.size)) {
      throw new TransferError(`checksum mismatch: ${sha} (${delta.length} bytes) for ${entry.header.sha256}`);
    }
    return { entry, delta };
  } catch (err) {
    logger?.warn({ taskId, err: (err as Error).message }, "spooled update is damaged; discarding it");
    removeSpool(stateDir, taskId);
    return null;
  }
}

export function removeSpool(stateDir: string, taskId: string): void {
  const p = paths(stateDir, taskId);
  rmSync(p.meta, { force: true });
  rmSync(p.delta, { force: true });
}

/** The task ids and base versions of the entries in the spool (entries whose header cannot be read are named by file). */
export function listSpool(stateDir: string): { taskId: string; baseVersion: string | null; file: string }[] {
  let names: string[];
  try {
    names = readdirSync(spoolDir(stateDir));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith(".json") && !n.startsWith("."))
    .map((file) => {
      try {
        const entry = JSON.parse(readFileSync(join(spoolDir(stateDir), file), "utf8")) as SpooledUpdate;
        return { taskId: entry.header.task_id, baseVersion: entry.header.base_version, file };
      } catch {
        return { taskId: file.slice(0, -".json".length), baseVersion: null, file };
      }
    });
}

/**
 * Removes every entry but those of `keep` (task ids): called when the coordinator has no open task
 * for this site, so no spooled update can be taken any more. Deltas without a header go too.
 * Returns the task ids removed.
 */
export function pruneSpool(stateDir: string, keep: ReadonlySet<string> = new Set()): string[] {
  const removed: string[] = [];
  for (const e of listSpool(stateDir)) {
    if (keep.has(e.taskId)) continue;
    rmSync(join(spoolDir(stateDir), e.file), { force: true });
    rmSync(join(spoolDir(stateDir), `${e.file.slice(0, -".json".length)}.safetensors`), { force: true });
    removed.push(e.taskId);
  }
  let names: string[] = [];
  try {
    names = readdirSync(spoolDir(stateDir));
  } catch {
    /* no spool yet */
  }
  const headed = new Set(names.filter((n) => n.endsWith(".json")).map((n) => n.slice(0, -".json".length)));
  for (const n of names) {
    if (n.endsWith(".safetensors") && !headed.has(n.slice(0, -".safetensors".length))) rmSync(join(spoolDir(stateDir), n), { force: true });
  }
  return removed;
}
