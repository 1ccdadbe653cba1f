/**
 * Finished runs, stored under the hash of everything their numbers depend on: `<out>/store/<key>/`
 * holds R.json, base.json, run.json, timing.json and config.json. A rerun of an experiment skips
 * every planned run whose key is stored, so tables can be built over several working days and a
 * changed setting (epochs, data, model) never reuses a stale result.
 */
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { SYNTH_GENERATOR_VERSION, type SuiteIndex } from "../services/data/index.js";
import { writeFileAtomicSync } from "../services/store/index.js";
import type { ExperimentOptions, PlannedRun } from "./types.js";

/** What one run's numbers depend on. */
export interface RunConfig {
  label: string;
  strategy: string;
  options: Record<string, string>;
  pooled: { shots?: number } | null;
  seed: number;
  model: string;
  epochs: number;
  maxSteps: number;
  lr: number;
  batchSize: number;
  inputSize: number;
  buffer: number;
  mix: number;
  shots: number;
  /** dataFingerprint() of the suite the run trained and was evaluated on. */
  data: string;
}

const RUN_FILES = ["R.json", "base.json", "run.json", "per_category.json", "categories.json"];

/** JSON with sorted keys, so equal configurations hash equally whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

export function runKey(config: RunConfig): string {
  return createHash("sha256").update(canonical(config)).digest("hex").slice(0, 20);
}

/**
 * A suite's identity. Synthetic suites are made from (suite, scale, seed) by a versioned generator,
 * so those name them without reading a file; a data root is named by the hash of its suite.json and
 * every split's annotations.
 */
export function dataFingerprint(o: Pick<ExperimentOptions, "dataRoot" | "suite" | "scale" | "generator">, seed: number, index?: SuiteIndex): string {
  if (!o.dataRoot) return `synthetic:${o.suite}:${o.scale}:seed${seed}:generator${o.generator ?? SYNTH_GENERATOR_VERSION}`;
  const root = resolve(o.dataRoot);
  const h = createHash("sha256").update(readFileSync(join(root, "suite.json")));
  for (const d of index?.domains ?? []) {
    for (const split of [d.splits.train, d.splits.val, d.splits.test]) {
      const ann = split ? join(root, split, "annotations.json") : "";
      if (ann && existsSync(ann)) h.update(split!).update(readFileSync(ann));
    }
  }
  return `data:${h.digest("hex").slice(0, 20)}`;
}

export function runConfig(o: ExperimentOptions, seed: number, p: PlannedRun, data: string): RunConfig {
  return {
    label: p.label,
    strategy: p.strategy,
    options: p.options,
    pooled: p.pooled ?? null,
    seed,
    model: o.model,
    epochs: o.epochs,
    maxSteps: o.maxSteps,
    lr: o.lr,
    batchSize: o.batchSize,
    inputSize: o.inputSize ?? 0,
    buffer: o.buffer,
    mix: o.mix,
    shots: o.shots,
    data,
  };
}

export function storeDir(out: string, key: string): string {
  return join(resolve(out), "store", key);
}

/** Whether `dir` holds a completed run (run.json says so and R.json is there). */
export function isCompleted(dir: string): boolean {
  const p = join(dir, "run.json");
  if (!existsSync(p) || !existsSync(join(dir, "R.json"))) return false;
  try {
    return (JSON.parse(readFileSync(p, "utf8")) as { state?: string }).state === "completed";
  } catch {
    return false;
  }
}

/**
 * Copies a finished run's files from simulate's folder into the store: written beside, then renamed
 * into place, so a key's folder is complete or absent.
 */
export function storeRun(out: string, key: string, config: RunConfig, runDir: string, seconds: number): string {
  const dest = storeDir(out, key);
  const tmp = `${dest}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const f of RUN_FILES) if (existsSync(join(runDir, f))) cpSync(join(runDir, f), join(tmp, f));
  writeFileAtomicSync(join(tmp, "timing.json"), `${JSON.stringify({ seconds }, null, 2)}\n`);
  writeFileAtomicSync(join(tmp, "config.json"), `${JSON.stringify({ key, config }, null, 2)}\n`);
  rmSync(dest, { recursive: true, force: true });
  renameSync(tmp, dest);
  return dest;
}

/** Seconds a stored run took (0 when unknown). */
export function storedSeconds(dir: string): number {
  try {
    return (JSON.parse(readFileSync(join(dir, "timing.json"), "utf8")) as { seconds?: number }).seconds ?? 0;
  } catch {
    return 0;
  }
}

/**
 * Progress over an experiment's runs with an ETA: a run's expected time is what the same label took
 * in another seed, else the mean of the runs finished so far.
 */
export class ExperimentProgress {
  readonly total: number;
  #done = 0;
  #spent: number[] = [];
  #byLabel = new Map<string, number>();
  readonly #started = Date.now();

  constructor(total: number, alreadyDone: { label: string; seconds: number }[]) {
    this.total = total;
    this.#done = alreadyDone.length;
    for (const r of alreadyDone) if (r.seconds > 0) this.#byLabel.set(r.label, r.seconds);
  }

  finished(label: string, seconds: number): void {
    this.#done++;
    this.#spent.push(seconds);
    this.#byLabel.set(label, seconds);
  }

  get done(): number {
    return this.#done;
  }

  /** Seconds still to go for these pending labels (null before anything is known). */
  eta(pending: string[]): number | null {
    const known = [...this.#byLabel.values(), ...this.#spent];
    if (known.length === 0) return null;
    const fallback = known.reduce((a, b) => a + b, 0) / known.length;
    return pending.reduce((s, l) => s + (this.#byLabel.get(l) ?? fallback), 0);
  }

  elapsedSeconds(): number {
    return (Date.now() - this.#started) / 1000;
  }
}
