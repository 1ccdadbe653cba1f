/**
 * The coordinator's side of SecAgg+ rounds (services/secagg holds the cryptography): it plans a
 * round (participants, the neighbour graph, threshold), relays public keys and sealed shares it
 * cannot read, stores each site's masked vector like any upload, and once the survivors have
 * revealed their shares removes the masks from the sum. It never holds one site's update.
 *
 * Stages, advanced by `advance` whenever a message arrives or the round runner ticks:
 *   keys    → shares   every participant advertised keys, or its task ended (U1 = advertised)
 *   shares  → masking  every U1 member sent its shares, or its task ended (U2 = shared)
 *   masking → unmask   every U2 member's task ended (U3 = masked update accepted)
 *   unmask  → done     every U3 member revealed, or went silent; then the sum is unmasked
 * A stage left with fewer than `threshold` sites fails the round (and the run), saying why.
 */
import { defaultShares, DEFAULT_FRACTION_BITS, bytesToElements, addMod, neighbours as secaggNeighbours, SecAggError, ELEMENT_BYTES, type SecretKind } from "../services/secagg/index.js";
import { unmaskSum, type SecAggRoundConfig } from "../services/secagg/protocol.js";
import { ErrorCode, MedfclError } from "../services/errors/index.js";
import type { SecureAggregation } from "../generated/medfcl/v1/SecureAggregation.js";
import type { SecAggKeysRequest__Output } from "../generated/medfcl/v1/SecAggKeysRequest.js";
import type { SecAggKeysResponse } from "../generated/medfcl/v1/SecAggKeysResponse.js";
import type { SecAggSharesRequest__Output } from "../generated/medfcl/v1/SecAggSharesRequest.js";
import type { SecAggSharesResponse } from "../generated/medfcl/v1/SecAggSharesResponse.js";
import type { SecAggUnmaskRequest__Output } from "../generated/medfcl/v1/SecAggUnmaskRequest.js";
import type { SecAggUnmaskResponse } from "../generated/medfcl/v1/SecAggUnmaskResponse.js";
import type { TensorMap } from "../services/tensors/index.js";
import type { CoordinatorContext } from "./context.js";
import { isTaskTerminal, type Run, type SecAggStage, type Task } from "./domain.js";
import { TaskNotFoundError } from "./errors.js";
import * as store from "./store/index.js";
import type { TensorSpecLite } from "./validation.js";

/** A round's plan as stored (secagg_rounds.config_json) and sent, per site, in TrainTask.secure_aggregation. */
export interface SecureRoundPlan extends SecAggRoundConfig {
  weightDenominator: number;
  normBound: number;
}

const MAX_WAIT_MS = 30_000;

export const roundKeyOf = (runId: string, step: number, round: number): string => `${runId}/${step}/${round}`;

/** The threshold a run asks for, or a majority of each site's share holders. */
export function thresholdFor(run: Pick<Run, "secureAggregationThreshold">, sites: number): { shares: number; threshold: number } {
  const d = defaultShares(sites);
  return { shares: d.shares, threshold: run.secureAggregationThreshold || d.threshold };
}

/** Checks a secure run's settings against its plan before it starts; the message says what to change. */
export function checkSecureRun(run: Pick<Run, "secureAggregationThreshold" | "deltaEncoding">, stepSites: number[]): void {
  if (run.deltaEncoding !== "fp32") throw new MedfclError(ErrorCode.InvalidArgument, `secure aggregation sends fixed-point masked vectors; delta_encoding must be fp32, got ${run.deltaEncoding}`, { details: { field: "delta_encoding" } });
  const smallest = Math.min(...stepSites);
  if (smallest < 3) {
    throw new MedfclError(ErrorCode.InvalidArgument, `secure aggregation needs at least 3 sites in every round (a sum of one or two reveals them); this run has a round of ${smallest}. Use a strategy where sites train together (joint)`, { details: { field: "secure_aggregation" } });
  }
  for (const n of stepSites) {
    const { shares, threshold } = thresholdFor(run, n);
    if (threshold < 2 || threshold > shares) {
      throw new MedfclError(ErrorCode.InvalidArgument, `secure_aggregation_threshold ${threshold} must be between 2 and the ${shares} share holders of each site (rounds of ${n} sites)`, { details: { field: "secure_aggregation_threshold" } });
    }
  }
}

/** Plans a round once (a resumed run finds it stored). `samples` are the sites' declared training images. */
export function planSecureRound(ctx: CoordinatorContext, run: Run, step: number, round: number, samples: Record<string, number>): SecureRoundPlan {
  const roundKey = roundKeyOf(run.runId, step, round);
  const stored = store.getSecAggRound(ctx.db, roundKey);
  if (stored) return stored.config as SecureRoundPlan;
  const participants = Object.keys(samples);
  const { shares, threshold } = thresholdFor(run, participants.length);
  const plan: SecureRoundPlan = {
    roundKey,
    participants,
    neighbours: Object.fromEntries(secaggNeighbours(participants, shares)),
    threshold,
    fractionBits: DEFAULT_FRACTION_BITS,
    // Σ of declared samples: every site's weight n/Σ is ≤ 1, so the weighted sum stays in range.
    weightDenominator: Math.max(1, Object.values(samples).reduce((a, b) => a + b, 0)),
    normBound: ctx.config.updateNormBound,
  };
  store.insertSecAggRound(ctx.db, { roundKey, runId: run.runId, step, round, config: plan });
  return plan;
}

export function secureAggregationToWire(plan: SecureRoundPlan, siteId: string): SecureAggregation {
  return {
    round_key: plan.roundKey,
    participants: plan.participants,
    neighbours: plan.neighbours[siteId] ?? [],
    threshold: plan.threshold,
    fraction_bits: plan.fractionBits,
    weight_denominator: plan.weightDenominator,
    norm_bound: plan.normBound,
  };
}

// ---- the stage machine ------------------------------------------------------------------------

function roundTasks(ctx: CoordinatorContext, roundKey: string): Task[] {
  const r = store.getSecAggRound(ctx.db, roundKey)!;
  return store.tasksForRound(ctx.db, r.runId, r.step, r.round);
}

function fail(ctx: CoordinatorContext, roundKey: string, error: string): void {
  store.setSecAggStage(ctx.db, roundKey, "failed", { error });
  ctx.logger.error({ roundKey }, `secure aggregation failed: ${error}`);
}

/** Moves the round on as far as what has arrived allows. Idempotent; wakes the long polls. */
export function advance(ctx: CoordinatorContext, roundKey: string): void {
  const before = store.getSecAggRound(ctx.db, roundKey);
  if (!before) return;
  const plan = before.config as SecureRoundPlan;
  const tasks = roundTasks(ctx, roundKey);
  const ended = (site: string): boolean => {
    const t = tasks.find((x) => x.siteId === site);
    return !t || isTaskTerminal(t.state);
  };
  for (let guard = 0; guard < 5; guard++) {
    const r = store.getSecAggRound(ctx.db, roundKey)!;
    const advertised = store.secAggKeys(ctx.db, roundKey).map((k) => k.siteId);
    const shared = [...new Set(store.secAggShares(ctx.db, roundKey).map((s) => s.from))];
    if (r.stage === "keys") {
      if (!plan.participants.every((p) => advertised.includes(p) || ended(p))) break;
      if (advertised.length < plan.threshold) return fail(ctx, roundKey, `${advertised.length} of ${plan.participants.length} sites advertised keys; the threshold is ${plan.threshold}`);
      store.setSecAggStage(ctx.db, roundKey, "shares");
    } else if (r.stage === "shares") {
      if (!advertised.every((p) => shared.includes(p) || ended(p))) break;
      if (shared.length < plan.threshold) return fail(ctx, roundKey, `${shared.length} sites sent their shares; the threshold is ${plan.threshold}`);
      store.setSecAggStage(ctx.db, roundKey, "masking");
    } else if (r.stage === "masking") {
      if (!shared.every((p) => ended(p))) break;
      const survivors = shared.filter((p) => tasks.find((t) => t.siteId === p)?.state === "done");
      const dropped = shared.filter((p) => !survivors.includes(p));
      if (survivors.length < plan.threshold) return fail(ctx, roundKey, `${survivors.length} masked updates arrived (${dropped.join(", ") || "none"} dropped); the threshold is ${plan.threshold}`);
      store.setSecAggStage(ctx.db, roundKey, "unmask", { survivors, dropped });
    } else break;
  }
  const after = store.getSecAggRound(ctx.db, roundKey)!;
  if (after.stage !== before.stage) {
    ctx.logger.info({ roundKey, stage: after.stage, survivors: after.survivors.length || undefined, dropped: after.dropped.length ? after.dropped : undefined }, "secure aggregation stage");
    ctx.hub.notifyTaskAssigned(`secagg:${roundKey}`);
  }
}

// ---- the long polls ---------------------------------------------------------------------------

function requireRoundTask(ctx: CoordinatorContext, siteId: string, taskId: string): { task: Task; plan: SecureRoundPlan; roundKey: string } {
  const task = store.getTask(ctx.db, taskId);
  if (!task) throw new TaskNotFoundError(taskId);
  if (task.siteId !== siteId) throw new MedfclError(ErrorCode.PermissionDenied, `task ${taskId} does not belong to site ${siteId}`, { details: { taskId, siteId } });
  const roundKey = roundKeyOf(task.runId, task.step, task.round);
  const r = store.getSecAggRound(ctx.db, roundKey);
  if (!r) throw new MedfclError(ErrorCode.FailedPrecondition, `task ${taskId} is not part of a secure aggregation round`, { details: { taskId } });
  return { task, plan: r.config as SecureRoundPlan, roundKey };
}

async function waitForStage(ctx: CoordinatorContext, roundKey: string, reached: (stage: SecAggStage) => boolean, waitMs: number, signal: AbortSignal): Promise<SecAggStage> {
  const deadline = Date.now() + Math.min(Math.max(waitMs, 0), MAX_WAIT_MS);
  for (;;) {
    advance(ctx, roundKey);
    const stage = store.getSecAggRound(ctx.db, roundKey)!.stage;
    if (stage === "failed") throw new MedfclError(ErrorCode.Aborted, `secure aggregation round ${roundKey} failed: ${store.getSecAggRound(ctx.db, roundKey)!.error}`, { details: { roundKey } });
    if (reached(stage) || Date.now() >= deadline || signal.aborted || ctx.signal.aborted) return stage;
    await ctx.hub.waitForTaskAssigned(`secagg:${roundKey}`, Math.min(1000, deadline - Date.now()), AbortSignal.any([signal, ctx.signal]));
  }
}

const KEY_BYTES = 32;

export async function advertiseKeys(ctx: CoordinatorContext, siteId: string, req: SecAggKeysRequest__Output, signal: AbortSignal): Promise<SecAggKeysResponse> {
  const { plan, roundKey } = requireRoundTask(ctx, siteId, req.task_id);
  if (req.encryption_public_key.length !== KEY_BYTES || req.mask_public_key.length !== KEY_BYTES) {
    throw new MedfclError(ErrorCode.InvalidArgument, `X25519 public keys are ${KEY_BYTES} bytes`, { details: { field: "encryption_public_key" } });
  }
  if (!/^[0-9a-f]{64}$/.test(req.self_mask_commitment)) throw new MedfclError(ErrorCode.InvalidArgument, "self_mask_commitment must be 64 hex digits", { details: { field: "self_mask_commitment" } });
  const stage = store.getSecAggRound(ctx.db, roundKey)!.stage;
  const known = store.secAggKeys(ctx.db, roundKey).some((k) => k.siteId === siteId);
  if (stage !== "keys" && !known) throw new MedfclError(ErrorCode.FailedPrecondition, `round ${roundKey} is past advertising keys (stage ${stage}); this site is out of the round`, { details: { stage } });
  store.putSecAggKeys(ctx.db, roundKey, { siteId, encryptionPublicKey: req.encryption_public_key, maskPublicKey: req.mask_public_key, selfMaskCommitment: req.self_mask_commitment });
  const now = await waitForStage(ctx, roundKey, (s) => s !== "keys", req.wait_ms, signal);
  if (now === "keys") return { ready: false, neighbours: [] };
  const mine = plan.neighbours[siteId] ?? [];
  return {
    ready: true,
    neighbours: store
      .secAggKeys(ctx.db, roundKey)
      .filter((k) => mine.includes(k.siteId))
      .map((k) => ({ site_id: k.siteId, encryption_public_key: k.encryptionPublicKey, mask_public_key: k.maskPublicKey })),
  };
}

export async function shareKeys(ctx: CoordinatorContext, siteId: string, req: SecAggSharesRequest__Output, signal: AbortSignal): Promise<SecAggSharesResponse> {
  const { plan, roundKey } = requireRoundTask(ctx, siteId, req.task_id);
  const mine = plan.neighbours[siteId] ?? [];
  const stage = store.getSecAggRound(ctx.db, roundKey)!.stage;
  if (req.shares.length) {
    if (stage !== "shares") throw new MedfclError(ErrorCode.FailedPrecondition, `round ${roundKey} is at stage ${stage}, not taking shares; this site is out of the round`, { details: { stage } });
    for (const [i, s] of req.shares.entries()) {
      if (s.from_site !== siteId || !mine.includes(s.to_site)) {
        throw new MedfclError(ErrorCode.InvalidArgument, `shares[${i}] goes from ${s.from_site} to ${s.to_site}; a site sends only its own shares, to its neighbours`, { details: { field: `shares[${i}]` } });
      }
    }
    store.putSecAggShares(ctx.db, roundKey, req.shares.map((s) => ({ from: s.from_site, to: s.to_site, ciphertext: s.ciphertext })));
  }
  const now = await waitForStage(ctx, roundKey, (s) => s !== "keys" && s !== "shares", req.wait_ms, signal);
  if (now === "keys" || now === "shares") return { ready: false, shares: [] };
  return { ready: true, shares: store.secAggShares(ctx.db, roundKey).filter((s) => s.to === siteId).map((s) => ({ from_site: s.from, to_site: s.to, ciphertext: s.ciphertext })) };
}

const KIND_FROM_WIRE: Record<string, SecretKind | undefined> = { SECRET_KIND_SELF_MASK_SEED: "self-mask-seed", SECRET_KIND_MASK_KEY: "mask-key" };

export async function unmask(ctx: CoordinatorContext, siteId: string, req: SecAggUnmaskRequest__Output, signal: AbortSignal): Promise<SecAggUnmaskResponse> {
  const { roundKey } = requireRoundTask(ctx, siteId, req.task_id);
  const now = await waitForStage(ctx, roundKey, (s) => s === "unmask" || s === "done", req.shares.length ? 0 : req.wait_ms, signal);
  const r = store.getSecAggRound(ctx.db, roundKey)!;
  if (now !== "unmask" && now !== "done") return { ready: false, survivors: [], dropped: [], done: false };
  if (req.shares.length) {
    const reveals = req.shares.map((s, i) => {
      const kind = KIND_FROM_WIRE[String(s.kind)];
      const wanted = kind === "self-mask-seed" ? r.survivors : r.dropped;
      if (!kind || !wanted.includes(s.of_site)) {
        throw new MedfclError(ErrorCode.InvalidArgument, `shares[${i}]: a ${kind ?? "unknown"} share of ${s.of_site} was not asked for`, { details: { field: `shares[${i}]` } });
      }
      return { from: siteId, of: s.of_site, kind, share: s.share };
    });
    store.putSecAggReveals(ctx.db, roundKey, reveals);
    ctx.hub.notifyTaskAssigned(`secagg:${roundKey}`);
  }
  const done = store.secAggReveals(ctx.db, roundKey).some((x) => x.from === siteId);
  return { ready: true, survivors: r.survivors, dropped: r.dropped, done };
}

// ---- the round runner's side ------------------------------------------------------------------

/** Bytes of one masked update for a base layout: 6 per weight, plus the weight. */
export function maskedUpdateBytes(layout: TensorSpecLite[]): number {
  return (layout.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0) + 1) * ELEMENT_BYTES;
}

/** Ticks the stage machine while the runner waits for the round's tasks (dropouts move it on too). */
export function tickSecureRound(ctx: CoordinatorContext, run: Run, step: number, round: number): void {
  if (run.secureAggregation) advance(ctx, roundKeyOf(run.runId, step, round));
}

/**
 * Waits for the survivors' shares, removes the masks, and returns the weighted mean of the
 * survivors' updates (their Σ wΔ divided by their Σ w) as tensors of the base layout. Throws, naming
 * the counts, when fewer than the threshold remain.
 */
export async function aggregateSecureRound(ctx: CoordinatorContext, run: Run, step: number, round: number, layout: TensorSpecLite[]): Promise<{ delta: TensorMap; metrics: Record<string, number> }> {
  const roundKey = roundKeyOf(run.runId, step, round);
  const silentMs = ctx.config.heartbeatIntervalMs * ctx.config.heartbeatMisses;
  let revealDeadline = 0;
  for (;;) {
    advance(ctx, roundKey);
    const r = store.getSecAggRound(ctx.db, roundKey)!;
    if (r.stage === "failed") throw new SecAggError(`secure aggregation of step ${step} round ${round} failed: ${r.error}`, { roundKey });
    if (r.stage === "unmask") {
      revealDeadline ||= Date.now() + silentMs;
      const revealed = new Set(store.secAggReveals(ctx.db, roundKey).map((x) => x.from));
      // A survivor that neither reveals nor heartbeats is gone; the others' shares must suffice.
      const waiting = r.survivors.filter((s) => !revealed.has(s) && Date.now() - Date.parse(store.getSite(ctx.db, s)?.lastSeenAt ?? "1970-01-01") < silentMs && Date.now() < revealDeadline + ctx.config.taskDeadlineMs);
      if (waiting.length === 0) break;
    }
    if (ctx.signal.aborted) throw new MedfclError(ErrorCode.Aborted, "coordinator shutting down", { details: { roundKey } });
    await ctx.hub.waitForTaskAssigned(`secagg:${roundKey}`, Math.min(1000, ctx.config.heartbeatIntervalMs), ctx.signal);
  }
  const r = store.getSecAggRound(ctx.db, roundKey)!;
  const plan = r.config as SecureRoundPlan;
  const tasks = roundTasks(ctx, roundKey);
  const length = maskedUpdateBytes(layout) / ELEMENT_BYTES;
  const maskedSum = new Float64Array(length);
  for (const siteId of r.survivors) {
    const accepted = store.acceptedUpdatesForTask(ctx.db, tasks.find((t) => t.siteId === siteId)!.taskId)[0];
    addMod(maskedSum, bytesToElements(ctx.blobs.get(accepted.updateId)));
  }
  const keys = new Map(store.secAggKeys(ctx.db, roundKey).map((k) => [k.siteId, { encryptionPublicKey: k.encryptionPublicKey, maskPublicKey: k.maskPublicKey, selfMaskCommitment: k.selfMaskCommitment }]));
  const shares = store.secAggShares(ctx.db, roundKey);
  const sharedWith = new Map(r.survivors.map((s) => [s, shares.filter((x) => x.to === s).map((x) => x.from)]));
  const reveals = store.secAggReveals(ctx.db, roundKey).map((x) => ({ ...x, kind: x.kind as SecretKind }));
  const revealers = new Set(reveals.map((x) => x.from));
  let sum: Float64Array;
  try {
    sum = await unmaskSum({ config: plan, maskedSum, survivors: r.survivors, dropped: r.dropped, keys, sharedWith, reveals });
  } catch (err) {
    const why = `${(err as Error).message}; ${revealers.size} of ${r.survivors.length} surviving sites revealed their shares (${r.survivors.filter((s) => !revealers.has(s)).join(", ") || "none"} gone after masking), threshold ${plan.threshold}`;
    fail(ctx, roundKey, why);
    throw new SecAggError(`secure aggregation of step ${step} round ${round} failed: ${why}`, { roundKey });
  }
  const weight = sum[length - 1];
  if (!(weight > 0)) throw new SecAggError(`secure aggregation of step ${step} round ${round}: the summed weight is ${weight}`, { roundKey });
  const delta: TensorMap = new Map();
  let offset = 0;
  for (const t of layout) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = sum[offset + i] / weight;
    delta.set(t.name, { dtype: "float32", shape: [...t.shape], data });
    offset += n;
  }
  store.setSecAggStage(ctx.db, roundKey, "done");
  ctx.logger.info({ roundKey, survivors: r.survivors.length, dropped: r.dropped, revealed: revealers.size }, "secure aggregation: masks removed, weighted mean taken");
  return { delta, metrics: { sites: r.survivors.length, secure_aggregation: 1, weight_sum: weight } };
}
