// The coordinator database: runs and steps.
import { z } from "zod";
import { runSchema, stepSchema, type Run, type Step } from "../domain.js";
import { type Db, nowIso } from "./db.js";
import { parseJson, parseValue, stringList } from "./parse.js";

interface RunRow {
  run_id: string;
  name: string;
  strategy: string;
  state: string;
  sites_json: string;
  options_json: string;
  hyper_json: string;
  model: string;
  seed: number;
  base_version: string | null;
  current_version: string | null;
  dropout_policy: string;
  delta_encoding: string;
  evaluation: string;
  secure_aggregation: number;
  secure_aggregation_threshold: number;
  error: string | null;
  created_at: string;
  updated_at: string;
}

function runFromRow(r: RunRow): Run {
  const where = (field: string) => ({ table: "runs", key: r.run_id, field });
  return parseValue(
    runSchema,
    {
      runId: r.run_id,
      name: r.name,
      strategy: r.strategy,
      state: r.state,
      sites: parseJson(stringList, r.sites_json, where("sites_json")),
      options: parseJson(z.record(z.union([z.number(), z.string()])), r.options_json, where("options_json")),
      hyper: parseJson(z.unknown(), r.hyper_json, where("hyper_json")),
      model: r.model,
      seed: r.seed,
      baseVersion: r.base_version,
      currentVersion: r.current_version,
      dropoutPolicy: r.dropout_policy,
      deltaEncoding: r.delta_encoding,
      evaluation: r.evaluation,
      secureAggregation: r.secure_aggregation === 1,
      secureAggregationThreshold: r.secure_aggregation_threshold,
      error: r.error,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    },
    { table: "runs", key: r.run_id },
  );
}

export type NewRun = Omit<Run, "createdAt" | "updatedAt" | "error" | "currentVersion">;

export function insertRun(db: Db, run: NewRun): void {
  const now = nowIso();
  db.prepare(
    `INSERT INTO runs (run_id, name, strategy, state, sites_json, options_json, hyper_json, model, seed, base_version,
       current_version, dropout_policy, delta_encoding, evaluation, secure_aggregation, secure_aggregation_threshold, error, created_at, updated_at)
     VALUES (@run_id, @name, @strategy, @state, @sites_json, @options_json, @hyper_json, @model, @seed, @base_version,
       NULL, @dropout_policy, @delta_encoding, @evaluation, @secure_aggregation, @secure_aggregation_threshold, NULL, @now, @now)`,
  ).run({
    run_id: run.runId,
    name: run.name,
    strategy: run.strategy,
    state: run.state,
    sites_json: JSON.stringify(run.sites),
    options_json: JSON.stringify(run.options),
    hyper_json: JSON.stringify(run.hyper),
    model: run.model,
    seed: run.seed,
    base_version: run.baseVersion,
    dropout_policy: run.dropoutPolicy,
    delta_encoding: run.deltaEncoding,
    evaluation: run.evaluation,
    secure_aggregation: run.secureAggregation ? 1 : 0,
    secure_aggregation_threshold: run.secureAggregationThreshold,
    now,
  });
}

export function getRun(db: Db, runId: string): Run | undefined {
  const row = db.prepare("SELECT * FROM runs WHERE run_id = ?").get(runId) as RunRow | undefined;
  return row && runFromRow(row);
}

export function getRunByName(db: Db, name: string): Run | undefined {
  const row = db.prepare("SELECT * FROM runs WHERE name = ?").get(name) as RunRow | undefined;
  return row && runFromRow(row);
}

export function listRuns(db: Db, opts: { limit: number; offset: number; state?: string }): Run[] {
  const rows = opts.state
    ? db.prepare("SELECT * FROM runs WHERE state = ? ORDER BY created_at, run_id LIMIT ? OFFSET ?").all(opts.state, opts.limit, opts.offset)
    : db.prepare("SELECT * FROM runs ORDER BY created_at, run_id LIMIT ? OFFSET ?").all(opts.limit, opts.offset);
  return (rows as RunRow[]).map(runFromRow);
}

/** The newest runs first (listRuns pages oldest first, for the admin API), for the dashboard. */
export function latestRuns(db: Db, limit: number): Run[] {
  return (db.prepare("SELECT * FROM runs ORDER BY created_at DESC, run_id DESC LIMIT ?").all(limit) as RunRow[]).map(runFromRow);
}

/** Runs per state, for /metrics. */
export function runCountsByState(db: Db): { state: string; n: number }[] {
  return db.prepare("SELECT state, COUNT(*) AS n FROM runs GROUP BY state").all() as { state: string; n: number }[];
}

const RUN_COLUMNS = { state: "state", currentVersion: "current_version", error: "error", baseVersion: "base_version" } as const;

export function updateRun(db: Db, runId: string, fields: Partial<Pick<Run, "state" | "currentVersion" | "error" | "baseVersion">>): void {
  const entries = Object.entries(fields).filter(([, v]) => v !== undefined) as [keyof typeof RUN_COLUMNS, unknown][];
  const sets = entries.map(([k]) => `${RUN_COLUMNS[k]} = @${k}`);
  db.prepare(`UPDATE runs SET ${[...sets, "updated_at = @now"].join(", ")} WHERE run_id = @runId`).run({ ...Object.fromEntries(entries), now: nowIso(), runId });
}

interface StepRow {
  run_id: string;
  idx: number;
  state: string;
  domain: string;
  sites_json: string;
  parent_version: string | null;
  version: string | null;
  dropouts_json: string;
  opened_at: string;
  closed_at: string | null;
}

function stepFromRow(r: StepRow): Step {
  const key = `${r.run_id}/${r.idx}`;
  return parseValue(
    stepSchema,
    {
      runId: r.run_id,
      index: r.idx,
      state: r.state,
      domain: r.domain,
      sites: parseJson(stringList, r.sites_json, { table: "steps", key, field: "sites_json" }),
      parentVersion: r.parent_version,
      version: r.version,
      dropouts: parseJson(stringList, r.dropouts_json, { table: "steps", key, field: "dropouts_json" }),
      openedAt: r.opened_at,
      closedAt: r.closed_at,
    },
    { table: "steps", key },
  );
}

export function upsertStep(db: Db, step: Pick<Step, "runId" | "index" | "state" | "domain" | "sites" | "parentVersion" | "version"> & { dropouts?: string[] }): void {
  db.prepare(
    `INSERT INTO steps (run_id, idx, state, domain, sites_json, parent_version, version, dropouts_json, opened_at)
     VALUES (@run_id, @idx, @state, @domain, @sites_json, @parent_version, @version, @dropouts_json, @now)
     ON CONFLICT(run_id, idx) DO UPDATE SET state=@state, domain=@domain, sites_json=@sites_json,
       parent_version=@parent_version, version=@version, dropouts_json=@dropouts_json`,
  ).run({
    run_id: step.runId,
    idx: step.index,
    state: step.state,
    domain: step.domain,
    sites_json: JSON.stringify(step.sites),
    parent_version: step.parentVersion,
    version: step.version,
    dropouts_json: JSON.stringify(step.dropouts ?? []),
    now: nowIso(),
  });
}

export function updateStep(db: Db, runId: string, idx: number, fields: Partial<Pick<Step, "state" | "version" | "dropouts" | "closedAt">>): void {
  const values: Record<string, unknown> = {};
  if (fields.state !== undefined) values.state = fields.state;
  if (fields.version !== undefined) values.version = fields.version;
  if (fields.dropouts !== undefined) values.dropouts_json = JSON.stringify(fields.dropouts);
  if (fields.closedAt !== undefined) values.closed_at = fields.closedAt;
  const sets = Object.keys(values).map((k) => `${k} = @${k}`);
  if (sets.length === 0) return;
  db.prepare(`UPDATE steps SET ${sets.join(", ")} WHERE run_id = @runId AND idx = @idx`).run({ ...values, runId, idx });
}

export function listSteps(db: Db, runId: string): Step[] {
  return (db.prepare("SELECT * FROM steps WHERE run_id = ? ORDER BY idx").all(runId) as StepRow[]).map(stepFromRow);
}

export function closeRound(db: Db, runId: string, step: number, round: number, version: string, metrics: Record<string, number>): void {
  db.prepare("INSERT OR REPLACE INTO rounds (run_id, step, round, version, metrics_json, closed_at) VALUES (?, ?, ?, ?, ?, ?)").run(
    runId, step, round, version, JSON.stringify(metrics), nowIso(),
  );
}

export function roundsOfStep(db: Db, runId: string, step: number): { round: number; version: string }[] {
  return db.prepare("SELECT round, version FROM rounds WHERE run_id = ? AND step = ? ORDER BY round").all(runId, step) as { round: number; version: string }[];
}
