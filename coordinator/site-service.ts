import { randomUUID } from "node:crypto";
import { ErrorCode, MedfclError } from "../services/errors/index.js";
import type { DatasetManifest__Output } from "../generated/medfcl/v1/DatasetManifest.js";
import type { ExemplarInfo__Output } from "../generated/medfcl/v1/ExemplarInfo.js";
import type { Metric__Output } from "../generated/medfcl/v1/Metric.js";
import type { ReportMetricsRequest__Output } from "../generated/medfcl/v1/ReportMetricsRequest.js";
import type { TrainTask } from "../generated/medfcl/v1/TrainTask.js";
import type { EvalTask as WireEvalTask } from "../generated/medfcl/v1/EvalTask.js";
import type { TestSetManifest__Output } from "../generated/medfcl/v1/TestSetManifest.js";
import type { UpdateHeader__Output } from "../generated/medfcl/v1/UpdateHeader.js";
import type { CoordinatorContext } from "./context.js";
import { type ExemplarRecord, isEvalTaskOpen, isTaskOpen, stateForOutcome, type Task } from "./domain.js";
import * as store from "./store/index.js";
import { StaleTaskError, TaskNotFoundError, UpdateRejectedError } from "./errors.js";
import { checkDeltaFacts, checkManifest, type DeltaFacts, type TensorSpecLite } from "./validation.js";
import { ImageRefusedError, sanitizeImage, type SanitizedImage } from "../services/privacy/index.js";
import { sha256Hex } from "../services/store/index.js";
import { maskedUpdateBytes, roundKeyOf, secureAggregationToWire, type SecureRoundPlan } from "./secure-aggregation.js";
import { evalTaskToWire, taskOutcomeFromWire, taskToWire, testSetFromWire, updateEncodingFromWire } from "./wire.js";

export const COORDINATOR_VERSION = "0.1.0";
const MAX_WAIT_MS = 30_000;

function requireTaskOfSite(ctx: CoordinatorContext, siteId: string, taskId: string): Task {
  const task = store.getTask(ctx.db, taskId);
  if (!task) throw new TaskNotFoundError(taskId);
  // Another site's task is indistinguishable from a missing one to the caller, but logged.
  if (task.siteId !== siteId) {
    ctx.logger.warn({ siteId, taskId, owner: task.siteId }, "site asked for another site's task");
    throw new MedfclError(ErrorCode.PermissionDenied, `task ${taskId} does not belong to site ${siteId}`, { details: { taskId, siteId } });
  }
  return task;
}

/**
 * What a site may declare at Register. A manifest is stored and shown on dashboards and audits;
 * prompts become model input. The limits are far above any real dataset (the largest public
 * detection sets have a few hundred classes) and far below what would burden the coordinator.
 */
export const MANIFEST_LIMITS = { bytes: 256 * 1024, categories: 1000, promptChars: 256, nameChars: 256, domainChars: 128, versionChars: 64 } as const;

function checkManifestLimits(m: DatasetManifest__Output, req: { agent_version: string; backend: string }): void {
  const L = MANIFEST_LIMITS;
  if (m.categories.length > L.categories) {
    throw new MedfclError(ErrorCode.ResourceExhausted, `manifest declares ${m.categories.length} categories; at most ${L.categories} are accepted`, { details: { field: "manifest.categories", limit: L.categories } });
  }
  const bytes = Buffer.byteLength(JSON.stringify(m));
  if (bytes > L.bytes) throw new MedfclError(ErrorCode.ResourceExhausted, `manifest is ${bytes} bytes; at most ${L.bytes} are accepted`, { details: { field: "manifest", limit: L.bytes } });
  const tooLong = (field: string, value: string, limit: number): void => {
    if (value.length > limit) throw new MedfclError(ErrorCode.InvalidArgument, `${field} is ${value.length} characters; at most ${limit}`, { details: { field, limit } });
  };
  tooLong("manifest.domain", m.domain, L.domainChars);
  tooLong("manifest.task", m.task, L.domainChars);
  tooLong("agent_version", req.agent_version, L.versionChars);
  tooLong("backend", req.backend, L.versionChars);
  m.categories.forEach((c, i) => {
    tooLong(`manifest.categories[${i}].name`, c.name, L.nameChars);
    for (const part of ["prefix", "name", "suffix"] as const) tooLong(`manifest.categories[${i}].prompt.${part}`, c.prompt?.[part] ?? "", L.promptChars);
  });
}

/** A session-bearing call from a site whose session the coordinator does not know: the agent registers again. */
export class UnknownSessionError extends MedfclError {
  constructor(siteId: string) {
    super(ErrorCode.FailedPrecondition, `site ${siteId} has no session by that id (the coordinator restarted its records, or another agent registered the site since); call Register again`, {
      details: { siteId, field: "session_id", reregister: true },
    });
  }
}

/** A declared test split: positive counts, and no more categories than a manifest may declare. */
function checkTestSet(t: TestSetManifest__Output): void {
  if (t.num_images <= 0) throw new MedfclError(ErrorCode.InvalidArgument, "test_set.num_images must be positive", { details: { field: "test_set.num_images" } });
  if (t.categories.length === 0 || t.categories.length > MANIFEST_LIMITS.categories) {
    throw new MedfclError(ErrorCode.InvalidArgument, `test_set declares ${t.categories.length} categories; between 1 and ${MANIFEST_LIMITS.categories} are accepted`, { details: { field: "test_set.categories" } });
  }
}

export function registerSite(
  ctx: CoordinatorContext,
  siteId: string,
  req: { agent_version: string; manifest: DatasetManifest__Output | null; backend: string; test_set?: TestSetManifest__Output | null },
): { session_id: string; heartbeat_interval_ms: number; coordinator_version: string; max_chunk_bytes: number } {
  const m = req.manifest;
  if (!m || !m.domain) throw new MedfclError(ErrorCode.InvalidArgument, "Register needs a manifest with a domain", { details: { field: "manifest.domain" } });
  if (m.num_images <= 0) throw new MedfclError(ErrorCode.InvalidArgument, "manifest.num_images must be positive", { details: { field: "manifest.num_images" } });
  checkManifestLimits(m, req);
  if (req.test_set) checkTestSet(req.test_set);
  const sessionId = randomUUID();
  store.upsertSite(ctx.db, {
    siteId,
    domain: m.domain,
    task: m.task || "detection",
    manifest: m,
    backend: req.backend || "wasm",
    agentVersion: req.agent_version || "unknown",
    sessionId,
  });
  store.setSiteTestSet(ctx.db, siteId, testSetFromWire(req.test_set));
  void ctx.events.publish({ type: "site.registered", siteId, agentVersion: req.agent_version, backend: req.backend });
  ctx.logger.info({ siteId, domain: m.domain, images: m.num_images, testImages: req.test_set?.num_images ?? 0 }, "site registered");
  return {
    session_id: sessionId,
    heartbeat_interval_ms: ctx.config.heartbeatIntervalMs,
    coordinator_version: COORDINATOR_VERSION,
    max_chunk_bytes: ctx.config.chunkBytes,
  };
}

export function heartbeat(
  ctx: CoordinatorContext,
  siteId: string,
  req: { session_id: string; state: string; task_id: string; progress: number; loss: number },
): { cancel_task_ids: string[]; reregister: boolean } {
  if (store.siteSession(ctx.db, siteId) !== req.session_id) return { cancel_task_ids: [], reregister: true };
  ctx.liveness.touch(siteId);
  void ctx.events.publish({ type: "site.heartbeat", siteId, state: req.state || "idle", taskId: req.task_id || undefined });
  const cancel: string[] = [];
  if (req.task_id) {
    const task = store.getTask(ctx.db, req.task_id);
    if (!task) {
      // An evaluation in progress: cancelled once its cell is closed (deadline, run failed).
      const evalTask = store.getEvalTask(ctx.db, req.task_id);
      if (!evalTask || evalTask.siteId !== siteId || !isEvalTaskOpen(evalTask.state)) cancel.push(req.task_id);
    } else if (task.siteId !== siteId || !isTaskOpen(task.state)) cancel.push(req.task_id);
    else void ctx.events.publish({ type: "site.progress", siteId, runId: task.runId, taskId: task.taskId, progress: req.progress, loss: req.loss || undefined });
  }
  return { cancel_task_ids: cancel, reregister: false };
}

export { taskToWire };

/** What NextTask hands out: a training task, or an evaluation (only to sites that declared a test split). */
export type SiteTaskOffer = { task: TrainTask } | { eval_task: WireEvalTask };

/**
 * Long poll: hands out the site's oldest open evaluation, else its oldest open training task,
 * waiting up to wait_ms for one. Evaluations go first: a step closes only once its row of R is in.
 */
export async function nextTask(ctx: CoordinatorContext, siteId: string, req: { session_id: string; wait_ms: number }, signal: AbortSignal): Promise<SiteTaskOffer | null> {
  const site = store.getSite(ctx.db, siteId);
  if (!site) throw new MedfclError(ErrorCode.FailedPrecondition, `site ${siteId} is not registered; call Register first`, { details: { siteId } });
  if (site.sessionId !== req.session_id) throw new UnknownSessionError(siteId);
  ctx.liveness.touch(siteId);
  const deadline = Date.now() + Math.min(Math.max(req.wait_ms, 0), MAX_WAIT_MS);
  for (;;) {
    const evalTask = store.pendingEvalTaskForSite(ctx.db, siteId);
    if (evalTask) {
      store.finishEvalTask(ctx.db, evalTask.taskId, "delivered");
      return { eval_task: evalTaskToWire(evalTask, ctx.blobs.size(evalTask.version)) };
    }
    const task = store.pendingTaskForSite(ctx.db, siteId);
    if (task) {
      store.setTaskState(ctx.db, task.taskId, "delivered");
      const secure = store.getSecAggRound(ctx.db, roundKeyOf(task.runId, task.step, task.round));
      return { task: taskToWire(task, ctx.blobs.size(task.baseVersion), secure ? secureAggregationToWire(secure.config as SecureRoundPlan, siteId) : null) };
    }
    // Idle means "no open task for this site" (agents drop their spooled updates on it), so a
    // coordinator that is shutting down says UNAVAILABLE instead.
    if (ctx.signal.aborted) throw new MedfclError(ErrorCode.Unavailable, "the coordinator is shutting down; ask again once it is back", { details: { siteId } });
    const left = deadline - Date.now();
    if (left <= 0 || signal.aborted) return null;
    await ctx.hub.waitForTaskAssigned(siteId, left, AbortSignal.any([signal, ctx.signal]));
  }
}

/** A site may pull a version only when one of its tasks starts from it, or it is asked to evaluate it. */
export function assertMayPullVersion(ctx: CoordinatorContext, siteId: string, version: string): void {
  if (!store.siteHasTaskFrom(ctx.db, siteId, version) && !store.siteHasEvalTaskFor(ctx.db, siteId, version)) {
    throw new MedfclError(ErrorCode.PermissionDenied, `site ${siteId} has no task based on model ${version}`, { details: { siteId, version } });
  }
  if (!ctx.blobs.has(version)) throw new MedfclError(ErrorCode.NotFound, `model version ${version} is not in the blob store`, { details: { version } });
}

export async function* modelChunks(
  ctx: CoordinatorContext,
  version: string,
  offset: number,
  chunkBytes: number,
): AsyncGenerator<{ total_size: number; sha256: string; chunk: { offset: number; data: Buffer } }> {
  const total = ctx.blobs.size(version);
  if (offset < 0 || offset > total) {
    throw new MedfclError(ErrorCode.InvalidArgument, `offset ${offset} is outside model ${version} (${total} bytes)`, { details: { field: "offset" } });
  }
  const size = Math.min(Math.max(chunkBytes || ctx.config.chunkBytes, 16 * 1024), ctx.config.chunkBytes);
  let pos = offset;
  let pending: Buffer = Buffer.alloc(0);
  for await (const piece of ctx.blobs.readRange(version, offset, total - offset)) {
    pending = pending.length ? Buffer.concat([pending, piece]) : piece;
    while (pending.length >= size) {
      yield { total_size: total, sha256: version, chunk: { offset: pos, data: pending.subarray(0, size) } };
      pos += size;
      pending = pending.subarray(size);
    }
  }
  if (pending.length > 0 || pos === total) {
    if (pending.length > 0 || total === 0) yield { total_size: total, sha256: version, chunk: { offset: pos, data: pending } };
  }
}

// Versions are content addresses, so a layout read once stays true.
const layouts = new Map<string, TensorSpecLite[]>();

/** The base model's tensor layout, from its checkpoint header (the tensors are not loaded). */
function baseLayout(ctx: CoordinatorContext, version: string): TensorSpecLite[] {
  let layout = layouts.get(version);
  if (!layout) {
    ctx.blobs.size(version); // BlobNotFoundError for a version the store lacks
    layout = ctx.models.layoutOf(ctx.blobs.pathOf(version));
    layouts.set(version, layout);
  }
  return layout;
}

/** Validates a stored delta by streaming it from its blob file (uploads that declared no size). */
async function scanStoredDelta(ctx: CoordinatorContext, sha256: string, size: number, layout: TensorSpecLite[]): Promise<DeltaFacts> {
  const scanner = ctx.models.deltaScanner(size, layout);
  for await (const piece of ctx.blobs.readRange(sha256, 0, size)) scanner.push(piece);
  return scanner.finish();
}

function headerManifest(h: UpdateHeader__Output): TensorSpecLite[] {
  return (h.manifest?.tensors ?? []).map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape.map(Number) }));
}

/**
 * Validates the upload's header and task, stores the bytes under their sha256 (DATA_LOSS on a
 * mismatch), decodes and validates the delta, and records the outcome. A rejected update is
 * recorded and answered with INVALID_ARGUMENT; the task is marked so the runner moves on.
 */
export async function receiveUpdate(
  ctx: CoordinatorContext,
  siteId: string,
  header: UpdateHeader__Output,
  chunks: AsyncIterable<Buffer>,
): Promise<{ update_id: string; accepted: boolean; duplicate: boolean }> {
  const task = requireTaskOfSite(ctx, siteId, header.task_id);
  checkMetrics(header.metrics ?? [], "header.metrics");
  if (header.base_version !== task.baseVersion) {
    throw new MedfclError(ErrorCode.FailedPrecondition, `update is based on ${header.base_version} but task ${task.taskId} starts from ${task.baseVersion}`, {
      details: { field: "base_version" },
    });
  }
  const existing = store.getUpdate(ctx.db, header.sha256, task.taskId);
  if (existing && existing.accepted) {
    for await (const _ of chunks) void _; // drain; the bytes are already stored
    return { update_id: existing.updateId, accepted: true, duplicate: true };
  }
  if (!isTaskOpen(task.state)) throw new StaleTaskError(task.taskId, task.state);
  // Checked before the first byte is read: while the state dir refuses writes the site keeps its
  // spooled update and pushes it again (RESOURCE_EXHAUSTED with a retry-after trailer).
  ctx.storage.assertWritable("PushUpdate");
  const secure = store.getSecAggRound(ctx.db, roundKeyOf(task.runId, task.step, task.round));
  if (secure || header.masked) return receiveMaskedUpdate(ctx, siteId, task, header, chunks, Boolean(secure));
  const encoding = updateEncodingFromWire(header);
  // An encoded delta is at most an index and a value per base weight (topk at fraction 1) plus a
  // header: twice the base checkpoint and 1 MiB bounds every encoding; a larger stream is cut off.
  const maxBytes = 2 * ctx.blobs.size(task.baseVersion) + 1024 * 1024;
  if (header.size > maxBytes) {
    throw new MedfclError(ErrorCode.ResourceExhausted, `update declares ${header.size} bytes; updates for base ${task.baseVersion.slice(0, 12)} are at most ${maxBytes}`, { details: { field: "size", limit: maxBytes } });
  }
  // The base layout and the header's claims are checked before the first byte, and the delta is
  // validated tensor by tensor as it streams to disk, so it is never held whole. Any fault is
  // answered only once the stream is stored and verified: a cut or corrupt stream stays DATA_LOSS.
  let layout: TensorSpecLite[] = [];
  let early: unknown = null;
  try {
    layout = baseLayout(ctx, task.baseVersion);
    checkManifest(layout, headerManifest(header));
  } catch (err) {
    early = err;
  }
  const declaredSize = header.size ? Number(header.size) : undefined;
  const scanner = early === null && declaredSize !== undefined ? ctx.models.deltaScanner(declaredSize, layout) : null;
  async function* bounded(): AsyncGenerator<Buffer> {
    let seen = 0;
    for await (const chunk of chunks) {
      seen += chunk.length;
      if (seen > maxBytes) throw new MedfclError(ErrorCode.ResourceExhausted, `update stream passed ${maxBytes} bytes, the most an update for this base can be`, { details: { field: "chunk", limit: maxBytes } });
      scanner?.push(chunk);
      yield chunk;
    }
  }
  // A stream that does not match the announced size or digest leaves nothing in the store.
  const { sha256, size } = await ctx.blobs.putStream(bounded(), header.sha256, declaredSize);
  const record = {
    updateId: sha256,
    taskId: task.taskId,
    siteId,
    runId: task.runId,
    step: task.step,
    baseVersion: task.baseVersion,
    encoding,
    numSamples: header.num_samples,
    metrics: (header.metrics ?? []).map((m) => ({ name: m.name, value: m.value, step: Number(m.step) })),
  };
  try {
    if (early !== null) throw early;
    let facts: DeltaFacts;
    try {
      facts = scanner ? scanner.finish() : await scanStoredDelta(ctx, sha256, size, layout);
    } catch (err) {
      throw new UpdateRejectedError(`delta cannot be decoded: ${(err as Error).message}`, { cause: err });
    }
    const norm = checkDeltaFacts(layout, facts, ctx.config.updateNormBound);
    if (header.num_samples <= 0) throw new UpdateRejectedError("num_samples must be positive", { details: { field: "num_samples" } });
    // One commit: an update recorded as accepted always has its task done (a repeat push is then a
    // duplicate, and the round closes), or, when the write fails, neither is recorded. A second push
    // of the same bytes that raced this one past the checks above (a client that retried while the
    // first was still being stored) is answered as the duplicate it is, and a task that ended
    // meanwhile (dropped at its deadline) takes no update.
    const outcome = ctx.db.transaction((): "accepted" | "duplicate" => {
      if (store.getUpdate(ctx.db, sha256, task.taskId)?.accepted) return "duplicate";
      store.insertUpdate(ctx.db, { ...record, norm, accepted: true, reason: null });
      if (!store.setTaskState(ctx.db, task.taskId, "done")) throw new StaleTaskError(task.taskId, store.getTask(ctx.db, task.taskId)?.state ?? "gone");
      for (const m of record.metrics) store.insertMetric(ctx.db, { runId: task.runId, taskId: task.taskId, siteId, name: m.name, value: m.value, step: m.step });
      return "accepted";
    })();
    if (outcome === "duplicate") return { update_id: sha256, accepted: true, duplicate: true };
    void ctx.events.publish({ type: "update.received", runId: task.runId, step: task.step, siteId, taskId: task.taskId, sha256, bytes: size, numSamples: header.num_samples });
    ctx.logger.info({ siteId, taskId: task.taskId, sha256, bytes: size, norm, encoding }, "update accepted");
    return { update_id: sha256, accepted: true, duplicate: false };
  } catch (err) {
    if (err instanceof StaleTaskError) {
      // The task ended while the bytes streamed in: they are not an update of it, refused or not.
      if (!store.blobReferenced(ctx.db, sha256)) ctx.blobs.remove(sha256);
      throw err;
    }
    if (!(err instanceof MedfclError)) throw err;
    ctx.db.transaction(() => {
      store.insertUpdate(ctx.db, { ...record, norm: null, accepted: false, reason: err.message });
      store.setTaskState(ctx.db, task.taskId, "rejected", err.message);
    })();
    // The refused bytes go unless something trusted holds the same content (the record keeps their sha256).
    if (!store.blobReferenced(ctx.db, sha256)) ctx.blobs.remove(sha256);
    void ctx.events.publish({ type: "update.rejected", runId: task.runId, step: task.step, siteId, taskId: task.taskId, reason: err.message, code: err.code });
    ctx.logger.warn({ siteId, taskId: task.taskId, reason: err.message }, "update rejected");
    throw err;
  } finally {
    ctx.hub.notifyTaskFinished(task.taskId);
  }
}

/**
 * A SecAgg+ masked vector: uniformly random bytes to the coordinator, so nothing about its values
 * can be checked here (the site checked them before masking: docs/privacy.md). What can be checked
 * is that the round is secure, the header is honest about the layout, and the size is exact.
 */
async function receiveMaskedUpdate(ctx: CoordinatorContext, siteId: string, task: Task, header: UpdateHeader__Output, chunks: AsyncIterable<Buffer>, secureRound: boolean): Promise<{ update_id: string; accepted: boolean; duplicate: boolean }> {
  const refuse = (message: string, field: string): never => {
    throw new UpdateRejectedError(message, { details: { field } });
  };
  try {
    if (!secureRound) refuse(`task ${task.taskId} is not part of a secure aggregation round; send the delta unmasked`, "masked");
    if (!header.masked) refuse(`the round of task ${task.taskId} aggregates securely; a plaintext update is refused (upgrade the agent: it must mask its update)`, "masked");
    const layout = baseLayout(ctx, task.baseVersion);
    checkManifest(layout, headerManifest(header));
    const expected = maskedUpdateBytes(layout);
    if (Number(header.size) !== expected) refuse(`a masked update for this base is ${expected} bytes, the header says ${header.size}`, "size");
    if (header.num_samples <= 0) refuse("num_samples must be positive", "num_samples");
  } catch (err) {
    for await (const _ of chunks) void _;
    store.setTaskState(ctx.db, task.taskId, "rejected", (err as Error).message);
    ctx.hub.notifyTaskFinished(task.taskId);
    throw err;
  }
  const { sha256, size } = await ctx.blobs.putStream(chunks, header.sha256, Number(header.size));
  store.insertUpdate(ctx.db, { updateId: sha256, taskId: task.taskId, siteId, runId: task.runId, step: task.step, baseVersion: task.baseVersion, encoding: "fp32", numSamples: header.num_samples, metrics: [], norm: null, accepted: true, reason: null });
  store.setTaskState(ctx.db, task.taskId, "done");
  ctx.hub.notifyTaskFinished(task.taskId);
  void ctx.events.publish({ type: "update.received", runId: task.runId, step: task.step, siteId, taskId: task.taskId, sha256, bytes: size, numSamples: header.num_samples });
  ctx.logger.info({ siteId, taskId: task.taskId, sha256, bytes: size }, "masked update accepted");
  return { update_id: sha256, accepted: true, duplicate: false };
}

export function assertMayPullExemplars(ctx: CoordinatorContext, siteId: string, taskId: string, ids: string[]): void {
  const task = requireTaskOfSite(ctx, siteId, taskId);
  const allowed = new Set(task.spec.exemplarIds);
  for (const id of ids) {
    if (!allowed.has(id)) throw new MedfclError(ErrorCode.PermissionDenied, `exemplar ${id} is not part of task ${taskId}`, { details: { exemplarId: id } });
  }
}

export function exemplarInfo(e: ExemplarRecord): ExemplarInfo__Output {
  return {
    exemplar_id: e.exemplarId,
    mime: e.mime,
    width: e.width,
    height: e.height,
    boxes: e.boxes,
    domain: e.domain,
    categories: e.categories.map((c) => ({ id: c.id, name: c.name, prompt: c.prompt ?? null })),
    provenance: e.provenance,
    size: e.size,
    score: e.score,
  };
}

/** The stage the coordinator adds to an exemplar's provenance when it re-encodes it. */
export const SANITIZE_STAGE = { name: "coordinator-sanitize", version: "1" };

/**
 * Stores one pushed exemplar. Its id must be the sha256 of its bytes, and its provenance must
 * name this site and the filter stages, or it is refused (and nothing is stored). The bytes are
 * then decoded and re-encoded without metadata (services/privacy sanitizeImage); what is stored
 * is the clean image, under its own sha256, with a provenance stage listing what was removed.
 * Every refusal is kept as a site note ("exemplar refused: ...") and published as an
 * `exemplar.refused` event (the durable audit stream on NATS, the dashboard, the log).
 */
export async function receiveExemplar(
  ctx: CoordinatorContext,
  siteId: string,
  taskId: string,
  info: ExemplarInfo__Output,
  bytes: Buffer | { tooLarge: number },
): Promise<{ accepted: boolean; reason?: string; storedId?: string; removed?: string[] }> {
  const task = requireTaskOfSite(ctx, siteId, taskId);
  const refuse = (reason: string): { accepted: false; reason: string } => {
    store.insertNote(ctx.db, siteId, taskId, `exemplar refused: ${info.exemplar_id}: ${reason}`.slice(0, 2000));
    void ctx.events.publish({ type: "exemplar.refused", siteId, taskId, exemplarId: info.exemplar_id, reason });
    return { accepted: false, reason };
  };
  const limits = ctx.config.exemplarLimits;
  if (!Buffer.isBuffer(bytes)) return refuse(`exemplar is over the limit of ${bytes.tooLarge} bytes (coordinator.exemplarLimits.maxBytes)`);
  const site = store.getSite(ctx.db, siteId);
  const p = info.provenance;
  if (!p || p.site_id !== siteId || p.content_sha256 !== info.exemplar_id || (p.stages ?? []).length === 0) {
    return refuse("provenance missing, from another site, or without filter stages");
  }
  if (!["image/png", "image/jpeg"].includes(info.mime)) return refuse(`mime ${info.mime} is not image/png or image/jpeg`);
  const received = sha256Hex(bytes);
  if (received !== info.exemplar_id) return refuse(`content hashes to ${received}, not ${info.exemplar_id}`);
  let clean: SanitizedImage;
  try {
    clean = await sanitizeImage(bytes, limits, info.mime);
  } catch (err) {
    if (err instanceof ImageRefusedError) return refuse(err.message);
    throw err;
  }
  if (clean.width !== info.width || clean.height !== info.height) {
    return refuse(`image is ${clean.width}×${clean.height} but the info says ${info.width}×${info.height}; its boxes cannot be trusted`);
  }
  const sha = ctx.blobs.put(clean.bytes);
  const provenance = { ...p, stages: [...(p.stages ?? []), { ...SANITIZE_STAGE, removed: clean.removed }] };
  store.insertExemplar(ctx.db, {
    exemplarId: sha,
    siteId,
    runId: task.runId,
    taskId: task.taskId,
    domain: info.domain || site?.domain || "",
    mime: clean.mime,
    width: clean.width,
    height: clean.height,
    boxes: info.boxes ?? [],
    categories: info.categories ?? [],
    provenance,
    size: clean.bytes.length,
    score: info.score ?? 0,
  });
  if (clean.removed.length) {
    store.insertNote(ctx.db, siteId, taskId, `exemplar cleaned: ${info.exemplar_id} stored as ${sha}; removed ${clean.removed.join(", ")}`.slice(0, 2000));
    ctx.logger.info({ siteId, exemplarId: info.exemplar_id, storedId: sha, removed: clean.removed }, "exemplar metadata removed");
  }
  return { accepted: true, storedId: sha, removed: clean.removed };
}

/** Site-declared limits on what one message may carry (item by item, so nothing unbounded reaches SQLite). */
export const SITE_LIMITS = { metrics: 256, metricName: 128, notes: 64, noteChars: 4000 } as const;

/** Metrics are stored as REAL NOT NULL: a NaN or an infinity (or a flood of them) is refused, not stored. */
export function checkMetrics(metrics: Metric__Output[], field: string): void {
  if (metrics.length > SITE_LIMITS.metrics) throw new MedfclError(ErrorCode.ResourceExhausted, `${field}: ${metrics.length} metrics, more than ${SITE_LIMITS.metrics}`, { details: { field } });
  metrics.forEach((m, i) => {
    if (!m.name || m.name.length > SITE_LIMITS.metricName) throw new MedfclError(ErrorCode.InvalidArgument, `${field}[${i}].name must be 1..${SITE_LIMITS.metricName} characters`, { details: { field: `${field}[${i}].name` } });
    if (!Number.isFinite(m.value)) throw new MedfclError(ErrorCode.InvalidArgument, `${field}[${i}] "${m.name}" has value ${m.value}; metrics must be finite`, { details: { field: `${field}[${i}].value` } });
  });
}

export function reportMetrics(ctx: CoordinatorContext, siteId: string, req: Pick<ReportMetricsRequest__Output, "task_id" | "metrics" | "notes" | "outcome">): void {
  checkMetrics(req.metrics, "metrics");
  if (req.notes.length > SITE_LIMITS.notes) throw new MedfclError(ErrorCode.ResourceExhausted, `${req.notes.length} notes, more than ${SITE_LIMITS.notes}`, { details: { field: "notes" } });
  const long = req.notes.findIndex((n) => n.length > SITE_LIMITS.noteChars);
  if (long >= 0) throw new MedfclError(ErrorCode.InvalidArgument, `notes[${long}] is ${req.notes[long].length} characters, more than ${SITE_LIMITS.noteChars}`, { details: { field: `notes[${long}]` } });
  const reasonChars = req.outcome?.reason?.length ?? 0;
  if (reasonChars > SITE_LIMITS.noteChars) throw new MedfclError(ErrorCode.InvalidArgument, `outcome.reason is ${reasonChars} characters, more than ${SITE_LIMITS.noteChars}`, { details: { field: "outcome.reason" } });
  const outcome = taskOutcomeFromWire(req);
  if (outcome && !req.task_id) throw new MedfclError(ErrorCode.InvalidArgument, "an outcome needs the task_id it is about", { details: { field: "task_id" } });
  let runId: string | null = null;
  if (req.task_id) runId = requireTaskOfSite(ctx, siteId, req.task_id).runId;
  for (const m of req.metrics) store.insertMetric(ctx.db, { runId, taskId: req.task_id || null, siteId, name: m.name, value: m.value, step: Number(m.step) });
  for (const note of req.notes) store.insertNote(ctx.db, siteId, req.task_id || null, note);
  // A site that refuses a task (privacy budget) or fails it (an error in local training) says so
  // here; the runner treats it as a dropout, and the task is not delivered again.
  const ending = outcome && stateForOutcome(outcome.kind);
  if (outcome && ending) {
    store.insertNote(ctx.db, siteId, req.task_id, `task ${outcome.kind}: ${outcome.reason}`.slice(0, SITE_LIMITS.noteChars));
    if (store.setTaskState(ctx.db, req.task_id, ending, outcome.reason || outcome.kind)) ctx.hub.notifyTaskFinished(req.task_id);
  }
}
