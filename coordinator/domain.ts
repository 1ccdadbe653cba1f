/**
 * The coordinator's model of runs, steps and tasks: one definition of each, used by the wire
 * mapping (wire.ts), the store (store.ts), the round runner and the services. Closed sets are
 * listed once here, as `as const` tuples, so zod schemas and TypeScript types come from the same
 * list.
 */
import { z } from "zod";
import type { DomainEvaluation } from "../services/evaluation/index.js";
// Type-only: erased at run time, so the domain still loads no model code (tests/build/import-weight.test.ts).
import type { TrainingDefaults } from "../services/model/families/family.js";
// delta.js alone: the model barrel would load tfjs and onnxruntime into every user of the domain types.
import { DELTA_ENCODINGS, type DeltaEncoding } from "../services/model/io/index.js";
import {
  DROPOUT_POLICIES,
  EVALUATION_PLACEMENTS,
  SHOTS_SELECTIONS,
  SITE_SAMPLERS,
  TASK_OUTCOMES,
  type DropoutPolicy,
  type EvaluationPlacement,
  type ShotsSelection,
  type SiteSampler,
  type TaskOutcomeKind,
} from "../services/transport/index.js";

// The closed sets that cross the wire are listed beside their proto enum values (services/transport/enums.ts).
export { DELTA_ENCODINGS, DROPOUT_POLICIES, EVALUATION_PLACEMENTS, SHOTS_SELECTIONS, SITE_SAMPLERS, TASK_OUTCOMES };
export type { DeltaEncoding, DropoutPolicy, EvaluationPlacement, ShotsSelection, SiteSampler, TaskOutcomeKind };

/** pending: created, not started; running: the round runner owns it; completed and failed are final. */
export const RUN_STATES = ["pending", "running", "completed", "failed"] as const;
export type RunState = (typeof RUN_STATES)[number];

/** Set by the round runner in this order; a step of a failed run ends as failed (round-runner.ts recordFailure). */
export const STEP_STATES = ["training", "aggregating", "evaluating", "closed", "failed"] as const;
export type StepState = (typeof STEP_STATES)[number];

/** How a site says a task ended (ReportMetrics.outcome). */
export interface TaskOutcome {
  kind: TaskOutcomeKind;
  reason: string;
}

// ---- tasks and their state machine -----------------------------------------------------------

export const TASK_STATES = ["assigned", "delivered", "done", "rejected", "dropped", "cancelled", "refused", "failed"] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** Waiting for the site: assigned (not yet handed out) or delivered (handed out, no result yet). */
export const OPEN_TASK_STATES = ["assigned", "delivered"] as const satisfies readonly TaskState[];
export type OpenTaskState = (typeof OPEN_TASK_STATES)[number];

export function isTaskOpen(state: TaskState): state is OpenTaskState {
  return (OPEN_TASK_STATES as readonly TaskState[]).includes(state);
}

/** A finished task never changes again: a late update or report for it is stale. */
export function isTaskTerminal(state: TaskState): boolean {
  return !isTaskOpen(state);
}

/**
 * The transitions a task may take. delivered → delivered is a redelivery (after an agent or
 * coordinator restart); every other state is final.
 */
const TASK_TRANSITIONS: Record<OpenTaskState, readonly TaskState[]> = {
  assigned: ["delivered", "done", "rejected", "dropped", "cancelled", "refused", "failed"],
  delivered: ["delivered", "done", "rejected", "dropped", "cancelled", "refused", "failed"],
};

export function canTransition(from: TaskState, to: TaskState): boolean {
  return isTaskOpen(from) && TASK_TRANSITIONS[from].includes(to);
}

/** The task state a site's outcome leads to; "ok" is reached by the accepted update, not the report. */
export function stateForOutcome(kind: TaskOutcomeKind): TaskState | null {
  return kind === "refused" ? "refused" : kind === "failed" ? "failed" : null;
}

// ---- hyper-parameters -------------------------------------------------------------------------

/**
 * A setting a run or task may leave unset: absent, never 0. Rows stored before these fields were
 * optional hold 0 for "unset", which reads back as absent.
 */
const unsetWhenZero = <T extends z.ZodTypeAny>(schema: T) => z.preprocess((v) => (v === 0 || v === null ? undefined : v), schema.optional());

/**
 * Local training settings sent with a task (proto Hyperparameters). Every default is resolved,
 * except what is unset on purpose: replayRatio (set per task by a strategy that replays), maxSteps
 * (unset: the epochs decide) and inputSize (unset: the model's own).
 */
export const hyperSchema = z.object({
  lr: z.number().gt(0).max(1),
  textLr: z.number().min(0),
  weightDecay: z.number().min(0),
  batchSize: z.number().int().min(1).max(256),
  epochs: z.number().int().min(1).max(1000),
  freezeStages: z.number().int().min(0),
  gradClip: z.number().min(0),
  seed: z.number().int(),
  replayRatio: unsetWhenZero(z.number().gt(0).max(1)),
  maxSteps: unsetWhenZero(z.number().int().min(1)),
  inputSize: unsetWhenZero(z.number().int().min(1)),
})
  // An unset field is absent, not present as undefined: run.json and deepEqual see the same object.
  .transform((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as typeof h);
export type Hyper = z.infer<typeof hyperSchema>;

/** The part of a model family's training defaults that a run's hyper-parameters take. */
export type HyperDefaults = Pick<TrainingDefaults, "lr" | "textLrRatio" | "weightDecay" | "batchSize" | "epochs" | "freezeStages" | "gradClip">;

/** The hyper-parameters a run gets for each field it leaves unset: its model family's defaults and its seed. */
export function hyperDefaults(t: HyperDefaults, seed: number): Hyper {
  return { lr: t.lr, textLr: t.lr * t.textLrRatio, weightDecay: t.weightDecay, batchSize: t.batchSize, epochs: t.epochs, freezeStages: t.freezeStages, gradClip: t.gradClip, seed };
}

const deltaEncodingSchema = z.enum(DELTA_ENCODINGS as unknown as [DeltaEncoding, ...DeltaEncoding[]]);

// ---- runs, steps, tasks -----------------------------------------------------------------------

// Model versions are content addresses (sha256) in practice; the store only needs them non-empty.
const sha256 = z.string().min(1);

export const runSchema = z.object({
  runId: z.string().min(1),
  name: z.string().min(1),
  strategy: z.string().min(1),
  state: z.enum(RUN_STATES),
  sites: z.array(z.string()),
  /**
   * The strategy's own options, resolved when the run was created: every option, typed, defaults
   * included (runs created before that hold the strings they were given). Run-level settings are
   * fields of their own.
   */
  options: z.record(z.union([z.number(), z.string()])),
  hyper: hyperSchema,
  model: z.string().min(1),
  seed: z.number().int(),
  baseVersion: sha256.nullable(),
  currentVersion: sha256.nullable(),
  dropoutPolicy: z.enum(DROPOUT_POLICIES),
  deltaEncoding: deltaEncodingSchema,
  /** Where each model version is evaluated (central test sets, the sites' own splits, or both). */
  evaluation: z.enum(EVALUATION_PLACEMENTS),
  /** Aggregate each round with SecAgg+ (the coordinator learns only the weighted sum). */
  secureAggregation: z.boolean(),
  /** Shares needed to rebuild a site's secret; 0 = a majority of its share holders. */
  secureAggregationThreshold: z.number().int().min(0),
  error: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Run = z.infer<typeof runSchema>;

export const stepSchema = z.object({
  runId: z.string(),
  index: z.number().int().min(0),
  state: z.enum(STEP_STATES),
  domain: z.string(),
  sites: z.array(z.string()),
  parentVersion: sha256.nullable(),
  version: sha256.nullable(),
  dropouts: z.array(z.string()),
  openedAt: z.string(),
  closedAt: z.string().nullable(),
});
export type Step = z.infer<typeof stepSchema>;

/** What a task asks of its site, fixed when the task is assigned. */
export const taskSpecSchema = z.object({
  hyper: hyperSchema,
  exemplarIds: z.array(z.string()),
  exemplarsWanted: z.number().int().min(0),
  exemplarSampler: z.enum(SITE_SAMPLERS),
  shots: z.number().int().min(0),
  shotsSelection: z.enum(SHOTS_SELECTIONS),
  deltaEncoding: deltaEncodingSchema,
  strategy: z.string().min(1),
});
export type TaskSpec = z.infer<typeof taskSpecSchema>;

export const taskSchema = z.object({
  taskId: z.string().min(1),
  runId: z.string(),
  step: z.number().int(),
  round: z.number().int(),
  siteId: z.string(),
  state: z.enum(TASK_STATES),
  spec: taskSpecSchema,
  baseVersion: sha256,
  deadline: z.string(),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  reason: z.string().nullable(),
});
export type Task = z.infer<typeof taskSchema>;

/** What the coordinator knows about a registered site. */
export interface SiteRecord {
  siteId: string;
  domain: string;
  task: string;
  /** The registered manifest (DatasetManifest, stored whole); the coordinator reads its size. */
  manifest: { num_images: number };
  backend: string;
  agentVersion: string;
  sessionId: string;
  registeredAt: string;
  lastSeenAt: string;
}

// ---- evaluation at the sites ------------------------------------------------------------------

/**
 * An evaluation a site is asked for (one model version on its own test split), and how it ended.
 * `unavailable`: the site holds no test split, so no task was sent; the row keeps the reason.
 */
export const EVAL_TASK_STATES = ["assigned", "delivered", "done", "refused", "failed", "dropped", "cancelled", "unavailable"] as const;
export type EvalTaskState = (typeof EVAL_TASK_STATES)[number];

export function isEvalTaskOpen(state: EvalTaskState): boolean {
  return state === "assigned" || state === "delivered";
}

export interface EvalTask {
  taskId: string;
  runId: string;
  /** -1 for the run's base model. */
  step: number;
  siteId: string;
  domain: string;
  version: string;
  state: EvalTaskState;
  deadline: string;
  createdAt: string;
  finishedAt: string | null;
  reason: string | null;
}

/** What a site declared about its held-out split at Register (TestSetManifest): counts and categories only. */
export interface SiteTestSet {
  siteId: string;
  numImages: number;
  numAnnotations: number;
  categoryIds: number[];
  annotationsSha256: string;
}

// ---- what the store keeps of versions, updates, exemplars, evaluations and SecAgg rounds ---------

export interface VersionRecord {
  version: string;
  parent: string | null;
  runId: string | null;
  strategy: string;
  step: number;
  sites: string[];
  configHash: string;
  size: number;
  createdAt: string;
}

export const metricRecordSchema = z.object({ name: z.string(), value: z.number(), step: z.union([z.number(), z.string()]).transform(Number) });

export type MetricRecord = z.infer<typeof metricRecordSchema>;

export interface UpdateRecord {
  updateId: string;
  taskId: string;
  siteId: string;
  runId: string;
  step: number;
  baseVersion: string;
  encoding: DeltaEncoding;
  numSamples: number;
  norm: number | null;
  accepted: boolean;
  reason: string | null;
  metrics: MetricRecord[];
  receivedAt: string;
}

export const exemplarBoxSchema = z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number(), category_id: z.number().int() });

export const exemplarPromptSchema = z.object({ prefix: z.string(), name: z.string(), suffix: z.string() });

export const exemplarCategorySchema = z.object({ id: z.number().int(), name: z.string(), prompt: exemplarPromptSchema.nullable().optional() });

export const exemplarProvenanceSchema = z
  .object({
    content_sha256: z.string(),
    source_hmac: z.string(),
    site_id: z.string(),
    stages: z.array(z.object({ name: z.string(), version: z.string(), removed: z.array(z.string()) })),
    exported_at: z.string(),
  })
  .passthrough();

export type ExemplarBox = z.infer<typeof exemplarBoxSchema>;

export type ExemplarCategory = z.infer<typeof exemplarCategorySchema>;

export type ExemplarProvenance = z.infer<typeof exemplarProvenanceSchema>;

export interface ExemplarRecord {
  exemplarId: string;
  siteId: string;
  runId: string;
  taskId: string;
  domain: string;
  mime: string;
  width: number;
  height: number;
  boxes: ExemplarBox[];
  categories: ExemplarCategory[];
  provenance: ExemplarProvenance;
  size: number;
  score: number;
  createdAt: string;
}

export interface EvaluationRecord {
  runId: string;
  step: number;
  domain: string;
  version: string;
  ap: number;
  ap50: number;
  /** COCO summary statistics; null where COCO leaves one undefined (stored as JSON null). */
  stats: (number | null)[];
  perCategoryAp: Record<string, number | null>;
  /** "central", or "site:<id>" for a result a site returned. */
  source: string;
  createdAt: string;
}

export const SECAGG_STAGES = ["keys", "shares", "masking", "unmask", "done", "failed"] as const;

export type SecAggStage = (typeof SECAGG_STAGES)[number];

export interface SecAggRoundRecord {
  roundKey: string;
  runId: string;
  step: number;
  round: number;
  config: unknown;
  stage: SecAggStage;
  survivors: string[];
  dropped: string[];
  error: string | null;
}

export interface SecAggKeysRecord {
  siteId: string;
  encryptionPublicKey: Buffer;
  maskPublicKey: Buffer;
  selfMaskCommitment: string;
}

export type CentralEvaluation = { version: string; domain: string; worker: string } & ({ ok: true; evaluation: DomainEvaluation } | { ok: false; reason: string });
