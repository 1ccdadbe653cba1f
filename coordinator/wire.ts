/**
 * The only mapping between the proto messages (generated/) and the coordinator's domain
 * (domain.ts). Requests are validated here, once, with zod; an error names the request field.
 */
import { z } from "zod";
import type { CreateRunRequest__Output } from "../generated/medfcl/v1/CreateRunRequest.js";
import type { Hyperparameters } from "../generated/medfcl/v1/Hyperparameters.js";
import type { Hyperparameters__Output } from "../generated/medfcl/v1/Hyperparameters.js";
import type { ReportMetricsRequest__Output } from "../generated/medfcl/v1/ReportMetricsRequest.js";
import type { Run as WireRun } from "../generated/medfcl/v1/Run.js";
import type { TrainTask } from "../generated/medfcl/v1/TrainTask.js";
import type { UpdateHeader__Output } from "../generated/medfcl/v1/UpdateHeader.js";
import type { EvalTask as WireEvalTask } from "../generated/medfcl/v1/EvalTask.js";
import type { TestSetManifest__Output } from "../generated/medfcl/v1/TestSetManifest.js";
import { deltaEncodingWire, dropoutPolicyWire, evaluationPlacementWire, siteSamplerWire, shotsSelectionWire, taskOutcomeWire } from "../services/transport/index.js";
import {
  hyperDefaults,
  hyperSchema,
  type DeltaEncoding,
  type DropoutPolicy,
  type EvalTask,
  type EvaluationPlacement,
  type Hyper,
  type HyperDefaults,
  type Run,
  type SiteTestSet,
  type Step,
  type Task,
  type TaskOutcome,
} from "./domain.js";
import { InvalidRunError } from "./errors.js";
import { optionsToStrings } from "./strategies/options.js";

/** Throws InvalidRunError naming the first bad field, with `prefix` before zod's path. */
function check<T>(schema: z.ZodType<T>, value: unknown, prefix: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = [prefix, ...issue.path].filter((p) => p !== "").join(".");
  throw new InvalidRunError(`${field}: ${issue.message}`, field);
}

// ---- hyper-parameters -------------------------------------------------------------------------

const HYPER_FIELDS: [keyof Hyper, keyof Hyperparameters__Output][] = [
  ["lr", "lr"],
  ["textLr", "text_lr"],
  ["weightDecay", "weight_decay"],
  ["batchSize", "batch_size"],
  ["epochs", "epochs"],
  ["freezeStages", "freeze_stages"],
  ["gradClip", "grad_clip"],
  ["seed", "seed"],
  ["replayRatio", "replay_ratio"],
  ["maxSteps", "max_steps"],
  ["inputSize", "input_size"],
];

/**
 * A run's hyper-parameters: each field the request sets, the default for each it leaves unset
 * (fields are `optional` on the wire, so an explicit 0 is kept). The seed, unset or 0, falls back to the run's
 * seed. replay_ratio is the strategy's to set per task, never the run's. max_steps and input_size
 * have no default: unset (or 0, as clients before `optional` sent it) they stay unset.
 */
export function hyperFromWire(h: Hyperparameters__Output | null | undefined, runSeed: number, defaults: Hyper): Hyper {
  const out: Record<string, number | undefined> = { ...defaults, seed: runSeed || defaults.seed };
  for (const [name, field] of HYPER_FIELDS) {
    const v = h?.[field];
    if (v === undefined || v === null || name === "replayRatio") continue;
    // Seed 0 means "the run's seed", as it did before the field was optional.
    if (name === "seed" && Number(v) === 0) continue;
    out[name] = Number(v);
  }
  // The wire names the fields; report a bad one by its proto name.
  const r = hyperSchema.safeParse(out);
  if (!r.success) {
    const issue = r.error.issues[0];
    const wireName = HYPER_FIELDS.find(([n]) => n === issue.path[0])?.[1] ?? String(issue.path[0]);
    throw new InvalidRunError(`hyperparameters.${wireName} ${issue.message.toLowerCase()}, got ${out[String(issue.path[0])]}`, `hyperparameters.${wireName}`);
  }
  return r.data;
}

/** Unset fields stay unset on the wire (proto3 `optional`), so a site never reads a 0 for them. */
export function hyperToWire(h: Hyper): Hyperparameters {
  return {
    lr: h.lr,
    text_lr: h.textLr,
    weight_decay: h.weightDecay,
    batch_size: h.batchSize,
    epochs: h.epochs,
    freeze_stages: h.freezeStages,
    grad_clip: h.gradClip,
    seed: h.seed,
    replay_ratio: h.replayRatio,
    max_steps: h.maxSteps,
    input_size: h.inputSize,
  };
}

// ---- CreateRun --------------------------------------------------------------------------------

/** A CreateRun request as the domain sees it; the admin service checks what needs the database. */
export interface CreateRunInput {
  name: string;
  strategy: string;
  sites: string[];
  options: Record<string, string>;
  hyper: Hyper;
  /** The model family: the request's, or the registry's default. */
  model: string;
  baseVersion: string | null;
  seed: number;
  dropoutPolicy: DropoutPolicy;
  deltaEncoding: DeltaEncoding;
  evaluation: EvaluationPlacement;
  secureAggregation: boolean;
  secureAggregationThreshold: number;
}

const createRunShape = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be 1–64 letters, digits, '.', '_' or '-'"),
  strategy: z.string().min(1, "is required"),
  sites: z
    .array(z.string().min(1))
    .min(1, "a run needs at least one site")
    .refine((s) => new Set(s).size === s.length, "sites must not repeat"),
  options: z.record(z.string()),
  seed: z.number().int(),
});

/** Run-level settings that have their own CreateRunRequest fields; a strategy option of that name is a mistake. */
const RUN_SETTINGS = { delta_encoding: "delta_encoding", dropout_policy: "dropout_policy", model: "model", base_version: "base_version", seed: "seed" } as const;

/**
 * `resolveModel` is the model registry's part (the admin service's): the request's model, or the
 * default when it names none, and that model's training defaults; this module loads no model code.
 */
export function createRunFromWire(req: CreateRunRequest__Output, resolveModel: (requested: string) => { model: string; defaults: HyperDefaults }): CreateRunInput {
  for (const key of Object.keys(req.options ?? {})) {
    if (key in RUN_SETTINGS) {
      throw new InvalidRunError(`options.${key}: ${key} is a run setting, not a strategy option; set CreateRunRequest.${key} (medfcl runs create --${key.replace("_", "-")})`, `options.${key}`);
    }
  }
  const base = check(createRunShape, { name: req.name, strategy: req.strategy, sites: req.sites, options: req.options ?? {}, seed: Number(req.seed) || 1 }, "");
  // The enum wins; a client built before it sends the old string field.
  let dropoutPolicy = dropoutPolicyWire.fromWire(req.dropout_policy);
  if (!dropoutPolicy) {
    const legacy = req.legacy_dropout_policy || "skip";
    dropoutPolicy = dropoutPolicyWire.parseName(legacy);
    if (!dropoutPolicy) throw new InvalidRunError(`dropout_policy must be "skip" or "fail", got "${legacy}"`, "dropout_policy");
  }
  const { model, defaults } = resolveModel(req.model);
  return {
    name: base.name,
    strategy: base.strategy,
    sites: base.sites,
    options: base.options,
    hyper: hyperFromWire(req.hyperparameters, Number(req.seed) || 0, hyperDefaults(defaults, base.seed)),
    model,
    baseVersion: req.base_version || null,
    seed: base.seed,
    dropoutPolicy,
    deltaEncoding: deltaEncodingWire.fromWire(req.delta_encoding) ?? "fp32",
    // Unset (a client built before the field) is the paper's lab setting, as it always was.
    evaluation: evaluationPlacementWire.fromWire(req.evaluation) ?? "central",
    secureAggregation: req.secure_aggregation === true,
    secureAggregationThreshold: Math.max(0, req.secure_aggregation_threshold || 0),
  };
}

export function runToWire(run: Run, steps: Step[]): WireRun {
  return {
    run_id: run.runId,
    name: run.name,
    strategy: run.strategy,
    state: run.state,
    sites: run.sites,
    steps: steps.map((s) => ({ index: s.index, state: s.state, sites: s.sites, domain: s.domain, version: s.version ?? "", dropouts: s.dropouts })),
    current_version: run.currentVersion ?? "",
    created_at: run.createdAt,
    updated_at: run.updatedAt,
    error: run.error ?? "",
    options: optionsToStrings(run.options),
    model: run.model,
    delta_encoding: deltaEncodingWire.toWire(run.deltaEncoding),
    dropout_policy: dropoutPolicyWire.toWire(run.dropoutPolicy),
    hyperparameters: hyperToWire(run.hyper),
    seed: run.seed,
    evaluation: evaluationPlacementWire.toWire(run.evaluation),
    secure_aggregation: run.secureAggregation,
    secure_aggregation_threshold: run.secureAggregationThreshold,
  };
}

// ---- tasks ------------------------------------------------------------------------------------

/** A task as its site receives it; the deprecated string fields are filled for agents built before the enums. */
export function taskToWire(task: Task, baseSize: number, secureAggregation: TrainTask["secure_aggregation"] = null): TrainTask {
  const spec = task.spec;
  return {
    task_id: task.taskId,
    run_id: task.runId,
    step: task.step,
    round: task.round,
    base_version: task.baseVersion,
    base_size: baseSize,
    hyperparameters: hyperToWire(spec.hyper),
    exemplar_ids: spec.exemplarIds,
    exemplars_wanted: spec.exemplarsWanted,
    exemplar_sampler: siteSamplerWire.toWire(spec.exemplarSampler),
    legacy_exemplar_sampler: spec.exemplarSampler,
    deadline: task.deadline,
    delta_encoding: deltaEncodingWire.toWire(spec.deltaEncoding),
    legacy_delta_encoding: spec.deltaEncoding,
    shots: spec.shots,
    shots_selection: shotsSelectionWire.toWire(spec.shotsSelection),
    legacy_shots_selection: spec.shotsSelection,
    strategy: spec.strategy,
    secure_aggregation: secureAggregation,
  };
}

/** The encoding an upload's header declares: the enum, else the deprecated string, else fp32. */
export function updateEncodingFromWire(h: UpdateHeader__Output): DeltaEncoding {
  const fromEnum = deltaEncodingWire.fromWire(h.encoding);
  if (fromEnum) return fromEnum;
  if (!h.legacy_encoding) return "fp32";
  const named = deltaEncodingWire.parseName(h.legacy_encoding);
  if (!named) throw new InvalidRunError(`encoding "${h.legacy_encoding}" is not one of ${deltaEncodingWire.names.join(", ")}`, "header.encoding");
  return named;
}

/**
 * How a site says its task ended. Agents built before TaskOutcome said it with a "refused: " or
 * "failed: " note; that reading is kept for them, here only.
 */
export function taskOutcomeFromWire(req: Pick<ReportMetricsRequest__Output, "outcome" | "notes">): TaskOutcome | null {
  const kind = taskOutcomeWire.fromWire(req.outcome?.kind);
  if (kind) return { kind, reason: req.outcome?.reason ?? "" };
  for (const note of req.notes) {
    if (note.startsWith("refused:")) return { kind: "refused", reason: note.slice("refused:".length).trim() };
    if (note.startsWith("failed:")) return { kind: "failed", reason: note.slice("failed:".length).trim() };
  }
  return null;
}

// ---- evaluation at the sites ------------------------------------------------------------------

export function evalTaskToWire(task: EvalTask, modelSize: number): WireEvalTask {
  return {
    task_id: task.taskId,
    run_id: task.runId,
    step: task.step,
    model_version: task.version,
    model_size: modelSize,
    domain: task.domain,
    deadline: task.deadline,
  };
}

/** A site's declared test split (counts and category ids), or null when Register carried none. */
export function testSetFromWire(m: TestSetManifest__Output | null | undefined): Omit<SiteTestSet, "siteId"> | null {
  if (!m) return null;
  return {
    numImages: m.num_images,
    numAnnotations: m.num_annotations,
    categoryIds: m.categories.map((c) => c.id),
    annotationsSha256: m.annotations_sha256,
  };
}
