/**
 * What the agent keeps on disk. Every model it downloads and every replay set it pulls used to stay
 * forever (100 small tasks left 100 base models, 76 MB); now it keeps the models its open tasks
 * start from plus the `keepModels` most recently used, the replay set of the task at hand only,
 * and (spool.ts) spooled updates only while the coordinator may still take them.
 */
import { readdirSync, rmSync, statfsSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../services/log/index.js";
import type { Metric } from "../generated/medfcl/v1/Metric.js";

export function modelsDir(stateDir: string): string {
  return join(stateDir, "models");
}

export function modelPath(stateDir: string, version: string): string {
  return join(modelsDir(stateDir), `${version}.safetensors`);
}

/** Marks a cached model as used now: retention keeps the most recently used. */
export function touchModel(path: string): void {
  const now = new Date();
  try {
    utimesSync(path, now, now);
  } catch {
    /* not there (yet): nothing to keep */
  }
}

function entries(dir: string): { name: string; path: string; bytes: number; mtimeMs: number; isDir: boolean }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    try {
      const st = statSync(path);
      return [{ name, path, bytes: st.isDirectory() ? bytesUnder(path) : st.size, mtimeMs: st.mtimeMs, isDir: st.isDirectory() }];
    } catch {
      return [];
    }
  });
}

function bytesUnder(dir: string): number {
  return entries(dir).reduce((n, e) => n + e.bytes, 0);
}

export interface PruneResult {
  removed: string[];
  bytesFreed: number;
}

/**
 * Deletes cached models other than those of `openVersions` and the `keepModels` most recently used,
 * partial downloads (`.part`) of versions no open task needs, and replay sets of tasks that are not
 * open. Called between tasks, so no download or training is in flight.
 */
export function pruneAgentState(stateDir: string, keep: { keepModels: number; openVersions: ReadonlySet<string>; openTasks: ReadonlySet<string> }, logger?: Logger): PruneResult {
  const removed: string[] = [];
  let bytesFreed = 0;
  const drop = (e: { path: string; bytes: number; isDir: boolean }): void => {
    rmSync(e.path, { recursive: e.isDir, force: true });
    removed.push(e.path);
    bytesFreed += e.bytes;
  };
  const models = entries(modelsDir(stateDir));
  const versionOf = (name: string): string => name.replace(/\.safetensors(\.part)?$/, "");
  const complete = models.filter((e) => e.name.endsWith(".safetensors") && !keep.openVersions.has(versionOf(e.name))).sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const e of complete.slice(keep.keepModels)) drop(e);
  for (const e of models) if (e.name.endsWith(".part") && !keep.openVersions.has(versionOf(e.name))) drop(e);
  for (const e of entries(join(stateDir, "replay"))) if (!keep.openTasks.has(e.name)) drop(e);
  if (removed.length) logger?.info({ removed: removed.length, bytesFreed, keepModels: keep.keepModels }, "agent state pruned");
  return { removed, bytesFreed };
}

export interface AgentDiskUsage {
  modelsBytes: number;
  modelsCount: number;
  spoolBytes: number;
  replayBytes: number;
  /** Everything under the state dir (privacy state and audit log included). */
  totalBytes: number;
  /** Free bytes of the state dir's filesystem; null when it cannot be read. */
  freeBytes: number | null;
}

export function agentDiskUsage(stateDir: string): AgentDiskUsage {
  const models = entries(modelsDir(stateDir));
  let freeBytes: number | null = null;
  try {
    const s = statfsSync(stateDir);
    freeBytes = s.bavail * s.bsize;
  } catch {
    /* stays null */
  }
  return {
    modelsBytes: models.reduce((n, e) => n + e.bytes, 0),
    modelsCount: models.filter((e) => e.name.endsWith(".safetensors")).length,
    spoolBytes: bytesUnder(join(stateDir, "spool")),
    replayBytes: bytesUnder(join(stateDir, "replay")),
    totalBytes: bytesUnder(stateDir),
    freeBytes,
  };
}

/** The usage as metrics for ReportMetrics (they land in the coordinator's metrics, per site and task). */
export function diskUsageMetrics(u: AgentDiskUsage): Metric[] {
  const out: Metric[] = [
    { name: "agent_models_bytes", value: u.modelsBytes, step: -1 },
    { name: "agent_models_count", value: u.modelsCount, step: -1 },
    { name: "agent_spool_bytes", value: u.spoolBytes, step: -1 },
    { name: "agent_replay_bytes", value: u.replayBytes, step: -1 },
    { name: "agent_state_bytes", value: u.totalBytes, step: -1 },
  ];
  if (u.freeBytes !== null) out.push({ name: "agent_disk_free_bytes", value: u.freeBytes, step: -1 });
  return out;
}
