import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
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
