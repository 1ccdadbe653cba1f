/**
 * The closed sets that cross the wire, as the names the code uses, and their proto enum values.
 * Both the coordinator (coordinator/wire.ts) and the site agent map through these tables, so a
 * name and its enum value are paired once. An UNSPECIFIED enum falls back to the deprecated string
 * field beside it (peers built before the enums), then to the default.
 */
import type { DeltaEncoding__Output as WireDeltaEncoding } from "../../generated/medfcl/v1/DeltaEncoding.js";
import type { DropoutPolicy__Output as WireDropoutPolicy } from "../../generated/medfcl/v1/DropoutPolicy.js";
import type { EvaluationPlacement__Output as WireEvaluationPlacement } from "../../generated/medfcl/v1/EvaluationPlacement.js";
import type { ReplaySampler__Output as WireReplaySampler } from "../../generated/medfcl/v1/ReplaySampler.js";
import type { ShotsSelection__Output as WireShotsSelection } from "../../generated/medfcl/v1/ShotsSelection.js";
import type { TaskOutcomeKind__Output as WireTaskOutcomeKind } from "../../generated/medfcl/v1/TaskOutcomeKind.js";
// delta.js alone: the model barrel would load tfjs and onnxruntime into the transport layer.
import { DELTA_ENCODINGS, type DeltaEncoding } from "../model/io/index.js";
import { EXEMPLAR_SAMPLERS, type ExemplarSampler } from "../replay/index.js";

export { DELTA_ENCODINGS, type DeltaEncoding };

/** Samplers a site may be asked to select its exported exemplars with (services/replay selectors). */
export const SITE_SAMPLERS = EXEMPLAR_SAMPLERS;
export type SiteSampler = ExemplarSampler;

/** How a site picks its few-shot training images. */
export const SHOTS_SELECTIONS = ["random", "kcenter"] as const;
export type ShotsSelection = (typeof SHOTS_SELECTIONS)[number];

/** What a run does with a site that drops out of a step. */
export const DROPOUT_POLICIES = ["skip", "fail"] as const;
export type DropoutPolicy = (typeof DROPOUT_POLICIES)[number];

/**
 * Where a run evaluates its model versions: the coordinator on its central test sets, each site on
 * its own held-out split (only COCO statistics leave it), or both (they must agree exactly).
 */
export const EVALUATION_PLACEMENTS = ["central", "sites", "both"] as const;
export type EvaluationPlacement = (typeof EVALUATION_PLACEMENTS)[number];

/** How a task ended at its site. */
export const TASK_OUTCOMES = ["ok", "refused", "failed"] as const;
export type TaskOutcomeKind = (typeof TASK_OUTCOMES)[number];

/** A name ↔ enum table; `fromWire` answers null for UNSPECIFIED (and for a value this build does not know). */
export interface EnumTable<N extends string, W extends string> {
  readonly names: readonly N[];
  toWire(name: N): W;
  fromWire(value: W | number | null | undefined): N | null;
  /** A name from a string field; null when it is not one of `names`. */
  parseName(value: string | null | undefined): N | null;
}

function enumTable<N extends string, W extends string>(names: readonly N[], pairs: Record<N, W>): EnumTable<N, W> {
  const byWire = new Map<string, N>(names.map((n) => [pairs[n], n]));
  return {
    names,
    toWire: (name) => pairs[name],
    fromWire: (value) => (typeof value === "string" ? (byWire.get(value) ?? null) : null),
    parseName: (value) => ((names as readonly string[]).includes(value ?? "") ? (value as N) : null),
  };
}

export const deltaEncodingWire = enumTable<DeltaEncoding, WireDeltaEncoding>(DELTA_ENCODINGS, {
  fp32: "DELTA_ENCODING_FP32",
  fp16: "DELTA_ENCODING_FP16",
  int8: "DELTA_ENCODING_INT8",
  topk: "DELTA_ENCODING_TOPK",
});

export const siteSamplerWire = enumTable<SiteSampler, WireReplaySampler>(SITE_SAMPLERS, {
  random: "REPLAY_SAMPLER_RANDOM",
  "class-balanced": "REPLAY_SAMPLER_CLASS_BALANCED",
  herding: "REPLAY_SAMPLER_HERDING",
  "loss-aware": "REPLAY_SAMPLER_LOSS_AWARE",
});

export const shotsSelectionWire = enumTable<ShotsSelection, WireShotsSelection>(SHOTS_SELECTIONS, {
  random: "SHOTS_SELECTION_RANDOM",
  kcenter: "SHOTS_SELECTION_KCENTER",
});

export const dropoutPolicyWire = enumTable<DropoutPolicy, WireDropoutPolicy>(DROPOUT_POLICIES, {
  skip: "DROPOUT_POLICY_SKIP",
  fail: "DROPOUT_POLICY_FAIL",
});

export const evaluationPlacementWire = enumTable<EvaluationPlacement, WireEvaluationPlacement>(EVALUATION_PLACEMENTS, {
  central: "EVALUATION_PLACEMENT_CENTRAL",
  sites: "EVALUATION_PLACEMENT_SITES",
  both: "EVALUATION_PLACEMENT_BOTH",
});

export const taskOutcomeWire = enumTable<TaskOutcomeKind, WireTaskOutcomeKind>(TASK_OUTCOMES, {
  ok: "TASK_OUTCOME_KIND_OK",
  refused: "TASK_OUTCOME_KIND_REFUSED",
  failed: "TASK_OUTCOME_KIND_FAILED",
});

/**
 * The settings of a TrainTask as names: the enum, else the deprecated string field (a coordinator
 * built before the enums), else the default. A string field may hold a name this build does not
 * know; the site checks the names it uses and refuses the task naming the field.
 */
export function trainTaskNames(task: {
  exemplar_sampler?: WireReplaySampler | null;
  legacy_exemplar_sampler?: string;
  delta_encoding?: WireDeltaEncoding | null;
  legacy_delta_encoding?: string;
  shots_selection?: WireShotsSelection | null;
  legacy_shots_selection?: string;
}): { exemplarSampler: string; deltaEncoding: string; shotsSelection: string } {
  return {
    exemplarSampler: siteSamplerWire.fromWire(task.exemplar_sampler) ?? (task.legacy_exemplar_sampler || "random"),
    deltaEncoding: deltaEncodingWire.fromWire(task.delta_encoding) ?? (task.legacy_delta_encoding || "fp32"),
    shotsSelection: shotsSelectionWire.fromWire(task.shots_selection) ?? (task.legacy_shots_selection || "random"),
  };
}

/** The hyper-parameters of a TrainTask; a field the coordinator left unset is absent. */
export interface TrainTaskHyper {
  lr?: number;
  text_lr?: number;
  weight_decay?: number;
  batch_size?: number;
  epochs?: number;
  freeze_stages?: number;
  grad_clip?: number;
  seed?: number;
  replay_ratio?: number;
  max_steps?: number;
  input_size?: number;
}

/**
 * A TrainTask's hyper-parameters as numbers. A field left unset stays unset: the site fills it from
 * the model family's training defaults (site-agent/trainer.ts). replay_ratio, max_steps and
 * input_size at 0 read as unset too, as coordinators sent them before the fields were optional.
 */
export function trainTaskHyper(h: Partial<Record<keyof TrainTaskHyper, number | string | null>> | null | undefined): TrainTaskHyper {
  const out: TrainTaskHyper = {};
  for (const key of ["lr", "text_lr", "weight_decay", "batch_size", "epochs", "freeze_stages", "grad_clip", "seed", "replay_ratio", "max_steps", "input_size"] as const) {
    const v = h?.[key];
    if (v === undefined || v === null) continue;
    const n = Number(v);
    if (n === 0 && (key === "replay_ratio" || key === "max_steps" || key === "input_size")) continue;
    out[key] = n;
  }
  return out;
}
