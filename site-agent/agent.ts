import { backoffMs, deltaEncodingWire, retryAfterMs, sleepUnlessAborted, taskOutcomeWire } from "../services/transport/index.js";
import * as grpc from "@grpc/grpc-js";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AgentConfig } from "../services/config/index.js";
import { ErrorCode, MedfclError } from "../services/errors/index.js";
import type { Logger } from "../services/log/index.js";
import { StorageWriteError, writeFileAtomicSync } from "../services/store/index.js";
import type { SiteServiceClient } from "../generated/medfcl/v1/SiteService.js";
import type { NextTaskResponse__Output } from "../generated/medfcl/v1/NextTaskResponse.js";
import type { RegisterResponse__Output } from "../generated/medfcl/v1/RegisterResponse.js";
import type { HeartbeatResponse__Output } from "../generated/medfcl/v1/HeartbeatResponse.js";
import type { TrainTask__Output } from "../generated/medfcl/v1/TrainTask.js";
import type { EvalTask__Output } from "../generated/medfcl/v1/EvalTask.js";
import { call, createSiteClient, pullExemplars, pullModel, pushExemplars, pushUpdate, withRetry } from "./client.js";
import { agentDiskUsage, diskUsageMetrics, modelPath, pruneAgentState, touchModel } from "./retention.js";
import { listSpool, markExemplarsPushed, pruneSpool, readSpool, removeSpool, writeSpool, type SpooledUpdate } from "./spool.js";
import { TaskRefusedError } from "./errors.js";
import { SecAggSession } from "./secure-aggregation.js";
import type { SiteWork, TaskProgress } from "./types.js";

export const AGENT_VERSION = "0.1.0";

export interface AgentOptions {
  config: AgentConfig;
  logger: Logger;
  work: SiteWork;
  signal: AbortSignal;
  /** Exit after this many tasks (tests and simulations); 0 = run until stopped. */
  maxTasks?: number;
  /** How long one NextTask long poll waits for a task (default 20 s; tests shorten it). */
  pollWaitMs?: number;
  /** Progress reporter for humans (a bar on a TTY); log lines otherwise. */
  onProgress?: (task: TrainTask__Output, p: TaskProgress) => void;
  serverName?: string;
}

interface AgentState {
  sessionId: string;
  state: string;
  taskId: string;
  progress: number;
  loss: number;
  heartbeatMs: number;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> => sleepUnlessAborted(ms, signal);

/** Health file the container HEALTHCHECK (`medfcl agent health`) reads. */
export function writeHealth(stateDir: string, s: { state: string; taskId: string; heartbeatMs: number }): void {
  writeFileAtomicSync(join(stateDir, "health.json"), JSON.stringify({ at: new Date().toISOString(), ...s }));
}

export function checkHealth(stateDir: string, now = Date.now()): { ok: boolean; reason: string } {
  try {
    const h = JSON.parse(readFileSync(join(stateDir, "health.json"), "utf8")) as { at: string; heartbeatMs: number; state: string };
    const age = now - Date.parse(h.at);
    const limit = 3 * (h.heartbeatMs || 5000);
    return age <= limit ? { ok: true, reason: `${h.state}, heartbeat ${Math.round(age / 1000)} s ago` } : { ok: false, reason: `last heartbeat ${Math.round(age / 1000)} s ago (limit ${limit / 1000} s)` };
  } catch (err) {
    return { ok: false, reason: `no readable health file in ${stateDir}: ${(err as Error).message}` };
  }
}

async function register(client: SiteServiceClient, o: AgentOptions, siteId: string): Promise<RegisterResponse__Output> {
  const manifest = o.work.manifest();
  const testSet = o.work.testSet?.() ?? null;
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await call<object, RegisterResponse__Output>(client.Register.bind(client), {
        site_id: siteId,
        agent_version: AGENT_VERSION,
        manifest,
        backend: o.config.backend,
        capabilities: ["dicom-deid", ...(o.config.privacy.dp.enabled ? ["dp"] : []), ...(testSet ? ["site-eval"] : [])],
        test_set: testSet,
      }, 15_000);
      o.logger.info({ siteId, coordinator: o.config.coordinator, session: res.session_id, domain: manifest.domain }, "registered with the coordinator");
      return res;
    } catch (err) {
      const code = (err as grpc.ServiceError).code;
      // Refusals that retrying cannot help.
      if (code === grpc.status.PERMISSION_DENIED || code === grpc.status.UNAUTHENTICATED || code === grpc.status.INVALID_ARGUMENT) {
        throw new MedfclError(code === grpc.status.INVALID_ARGUMENT ? ErrorCode.InvalidArgument : ErrorCode.PermissionDenied, `the coordinator refused site ${siteId}: ${(err as Error).message}`, { cause: err });
      }
      if (o.signal.aborted) throw err;
      const delay = backoffMs(attempt, { baseMs: 500, maxMs: 10_000 });
      o.logger[attempt === 1 ? "warn" : "debug"]({ attempt, retryInMs: delay, err: (err as Error).message }, "coordinator not reachable yet; retrying");
      await sleep(delay, o.signal);
    }
  }
}

/**
 * The site agent: register, heartbeat, long-poll for tasks and run each one. Returns when the
 * signal aborts (SIGTERM), the coordinator sends Shutdown, or maxTasks tasks are done.
 */
export async function runAgent(o: AgentOptions): Promise<{ tasks: number }> {
  const siteId = o.config.siteId;
  if (!siteId) throw new MedfclError(ErrorCode.InvalidArgument, "agent.siteId is not set (MEDFCL_AGENT_SITE_ID or --site)", { details: { key: "agent.siteId" } });
  const client = createSiteClient({ address: o.config.coordinator, tls: o.config.tls, insecure: o.config.insecure, serverName: o.serverName });
  const st: AgentState = { sessionId: "", state: "idle", taskId: "", progress: 0, loss: 0, heartbeatMs: 5000 };
  const cancelled = new Set<string>();
  let taskAbort: AbortController | null = null;
  try {
    const reg = await register(client, o, siteId);
    st.sessionId = reg.session_id;
    st.heartbeatMs = reg.heartbeat_interval_ms || 5000;
    await reportNotes(client, siteId, o.work.notes?.() ?? [], o);
    writeHealth(o.config.stateDir, st);

    let beatFailures = 0;
    const beat = async (): Promise<void> => {
      try {
        const res = await call<object, HeartbeatResponse__Output>(client.Heartbeat.bind(client), { site_id: siteId, session_id: st.sessionId, state: st.state, task_id: st.taskId, progress: st.progress, loss: st.loss }, 10_000);
        try {
          writeHealth(o.config.stateDir, st);
        } catch (err) {
          // A full disk at the site must not cost the heartbeat's answer (cancellations, re-register).
          o.logger.warn({ err: (err as Error).message }, "health file not written");
        }
        for (const id of res.cancel_task_ids) {
          cancelled.add(id);
          if (id === st.taskId) taskAbort?.abort();
        }
        if (beatFailures > 0) o.logger.info({ failed: beatFailures }, "heartbeats reach the coordinator again");
        beatFailures = 0;
        if (res.reregister) st.sessionId = (await register(client, o, siteId)).session_id;
      } catch (err) {
        // One warning per outage: a coordinator restart must not flood the site's log.
        o.logger[beatFailures++ === 0 ? "warn" : "debug"]({ err: (err as Error).message }, "heartbeat failed");
        return;
      }
    };
    const timer = setInterval(() => void beat(), st.heartbeatMs);
    timer.unref();
    // Models and replay sets no open task needs; spooled updates may still be taken (kept).
    const prune = (): void => {
      try {
        const spooled = listSpool(o.config.stateDir);
        pruneAgentState(o.config.stateDir, { keepModels: o.config.keepModels, openVersions: new Set(spooled.flatMap((e) => (e.baseVersion ? [e.baseVersion] : []))), openTasks: new Set() }, o.logger);
      } catch (err) {
        o.logger.warn({ err: (err as Error).message }, "agent state not pruned");
      }
    };
    prune();

    let done = 0;
    let pollFailures = 0;
    try {
      while (!o.signal.aborted && (!o.maxTasks || done < o.maxTasks)) {
        let res: NextTaskResponse__Output;
        try {
          res = await call<object, NextTaskResponse__Output>(client.NextTask.bind(client), { site_id: siteId, session_id: st.sessionId, wait_ms: o.pollWaitMs ?? 20_000 }, (o.pollWaitMs ?? 20_000) + 20_000, o.signal);
        } catch (err) {
          if (o.signal.aborted) break;
          // The coordinator does not know this session (or this site): register again, as on Heartbeat.
          if ((err as grpc.ServiceError).code === grpc.status.FAILED_PRECONDITION) {
            o.logger.warn({ err: (err as Error).message }, "the coordinator does not know this session; registering again");
            st.sessionId = (await register(client, o, siteId)).session_id;
            continue;
          }
          // A restarting coordinator (UNAVAILABLE) or one refusing writes: back off with jitter, so
          // a fleet of agents does not come back in lockstep.
          pollFailures++;
          const delay = Math.max(backoffMs(pollFailures, { baseMs: 500, maxMs: 10_000 }), retryAfterMs(err) ?? 0);
          o.logger[pollFailures === 1 ? "warn" : "debug"]({ err: (err as Error).message, retryInMs: delay }, "NextTask failed; retrying");
          await sleep(delay, o.signal);
          continue;
        }
        if (pollFailures > 0) o.logger.info({ failed: pollFailures }, "the coordinator answers again");
        pollFailures = 0;
        if (res.shutdown) {
          o.logger.info({ reason: res.shutdown.reason }, "coordinator asked the agent to stop");
          break;
        }
        if (res.eval_task) {
          // Evaluations are not counted against maxTasks: a site asked to evaluate the last step
          // must still be there to answer.
          const evalTask = res.eval_task;
          st.taskId = evalTask.task_id;
          taskAbort = new AbortController();
          const stopEval = (): void => taskAbort?.abort();
          o.signal.addEventListener("abort", stopEval, { once: true });
          try {
            await runEvalTask(client, o, siteId, evalTask, st, taskAbort.signal);
          } finally {
            o.signal.removeEventListener("abort", stopEval);
            st.state = "idle";
            st.taskId = "";
          }
          continue;
        }
        if (!res.task) {
          // The coordinator hands out a site's open tasks before answering idle: no spooled update
          // can be taken any more (its task ended, or the coordinator forgot it).
          const gone = pruneSpool(o.config.stateDir);
          if (gone.length) o.logger.info({ tasks: gone }, "spooled updates of tasks that are no longer open removed");
          prune();
          continue;
        }
        taskAbort = new AbortController();
        st.taskId = res.task.task_id;
        void beat(); // tell the coordinator at once that the task is being worked on
        const stop = (): void => taskAbort?.abort();
        o.signal.addEventListener("abort", stop, { once: true });
        try {
          await runTask(client, o, siteId, res.task, st, taskAbort.signal);
          done++;
        } catch (err) {
          if (cancelled.has(res.task.task_id)) {
            // The coordinator ended the task: finished work for it will never be taken.
            removeSpool(o.config.stateDir, res.task.task_id);
            o.logger.warn({ taskId: res.task.task_id }, "task cancelled by the coordinator");
          }
          else if (o.signal.aborted) o.logger.info({ taskId: res.task.task_id }, "task interrupted by shutdown");
          else {
            o.logger.error({ taskId: res.task.task_id, err: (err as Error).message }, "task failed");
            // Said once to the coordinator, which counts this site out of the round instead of
            // handing the same task back forever.
            await reportTaskFailure(client, siteId, res.task.task_id, err as Error, o);
            done++;
          }
        } finally {
          o.signal.removeEventListener("abort", stop);
          prune();
          st.state = "idle";
          st.taskId = "";
          st.progress = 0;
        }
      }
    } finally {
      clearInterval(timer);
    }
    return { tasks: done };
  } finally {
    client.close();
  }
}

/** The header's encoding: the enum, and the name in the deprecated field for coordinators built before it. */
function updateEncoding(name: string): { encoding: ReturnType<typeof deltaEncodingWire.toWire>; legacy_encoding: string } {
  const encoding = deltaEncodingWire.parseName(name);
  if (!encoding) throw new MedfclError(ErrorCode.Internal, `site work produced a delta in encoding "${name}", not one of ${deltaEncodingWire.names.join(", ")}`, { details: { encoding: name } });
  return { encoding: deltaEncodingWire.toWire(encoding), legacy_encoding: encoding };
}

/** Site notes (no task) for the coordinator's record; best effort: the agent's log has them too. */
async function reportNotes(client: SiteServiceClient, siteId: string, notes: string[], o: AgentOptions): Promise<void> {
  if (notes.length === 0) return;
  try {
    await call(client.ReportMetrics.bind(client), { site_id: siteId, task_id: "", metrics: [], notes: notes.slice(0, 64) });
  } catch (err) {
    o.logger.warn({ err: (err as Error).message, notes: notes.length }, "site notes not delivered to the coordinator");
  }
}

async function reportTaskFailure(client: SiteServiceClient, siteId: string, taskId: string, err: Error, o: AgentOptions): Promise<void> {
  try {
    await call(client.ReportMetrics.bind(client), { site_id: siteId, task_id: taskId, metrics: [], notes: [], outcome: { kind: taskOutcomeWire.toWire("failed"), reason: err.message.slice(0, 2000) } });
  } catch (reportErr) {
    o.logger.warn({ taskId, err: (reportErr as Error).message }, "could not tell the coordinator that the task failed; it will time out there");
  }
}

async function runTask(client: SiteServiceClient, o: AgentOptions, siteId: string, task: TrainTask__Output, st: AgentState, signal: AbortSignal): Promise<void> {
  const log = o.logger.child({ taskId: task.task_id, step: task.step, round: task.round });
  st.taskId = task.task_id;
  log.info({ base: task.base_version.slice(0, 12), exemplars: task.exemplar_ids.length, wanted: task.exemplars_wanted, strategy: task.strategy }, "task received");
  try {
    o.work.checkTask(task);
  } catch (err) {
    if (err instanceof TaskRefusedError) {
      log.warn({ reason: err.message }, "task refused");
      await call(client.ReportMetrics.bind(client), { site_id: siteId, task_id: task.task_id, metrics: [], notes: [], outcome: { kind: taskOutcomeWire.toWire("refused"), reason: err.message.slice(0, 2000) } });
      return;
    }
    throw err;
  }

  // Finished work from an earlier attempt (a failed upload, an agent restart) is uploaded as it is.
  let spooled = readSpool(o.config.stateDir, task.task_id, log);
  if (spooled && spooled.entry.header.base_version !== task.base_version) {
    removeSpool(o.config.stateDir, task.task_id);
    spooled = null;
  }
  let entry: SpooledUpdate;
  let delta: Buffer;
  let secagg: SecAggSession | null = null;
  if (spooled) {
    ({ entry, delta } = spooled);
    log.info({ update: entry.header.sha256.slice(0, 12), spooledAt: entry.spooledAt }, "finished update found in the spool; uploading it without training again");
  } else {
    // SecAgg+ stages 1–2 come first: every participant must be online for them, training is long.
    if (task.secure_aggregation) {
      st.state = "secure-aggregation";
      secagg = await SecAggSession.setup(client, siteId, task, log, signal);
    }
    st.state = "downloading";
    const model = modelPath(o.config.stateDir, task.base_version);
    await pullModel(client, siteId, task.base_version, model, {
      logger: log,
      onProgress: (got, total) => (st.progress = total > 0 ? 0.05 * (got / total) : 0),
    });
    touchModel(model);
    const replay = await pullExemplars(client, siteId, task.task_id, task.exemplar_ids);

    st.state = "training";
    const result = await o.work.train(task, readFileSync(model), replay, (p) => {
      st.progress = 0.05 + 0.85 * p.fraction;
      if (p.loss !== undefined) st.loss = p.loss;
      o.onProgress?.(task, p);
    }, signal);
    // A secure round's upload is the masked vector; the plaintext delta never leaves this process.
    delta = secagg ? secagg.mask(result.delta, result.numSamples) : result.delta;
    const header: SpooledUpdate["header"] = {
      site_id: siteId,
      task_id: task.task_id,
      base_version: task.base_version,
      sha256: createHash("sha256").update(delta).digest("hex"),
      size: delta.length,
      manifest: { tensors: result.manifest },
      ...updateEncoding(result.encoding),
      num_samples: result.numSamples,
      metrics: result.metrics,
      masked: secagg !== null,
    };
    try {
      entry = writeSpool(o.config.stateDir, header, delta);
    } catch (err) {
      if (!(err instanceof StorageWriteError)) throw err;
      // The trained update is worth more than the spool: it goes up from memory. Only a restart
      // before it lands costs a retraining.
      log.warn({ err: err.message }, "the update cannot be spooled (the agent's disk is full or failing); uploading it from memory");
      entry = { header, exemplarsPushed: false, spooledAt: new Date().toISOString() };
    }
  }

  st.state = "uploading";
  const retry = { signal, logger: log };
  try {
    // Exemplars go before the update: the coordinator closes the step when the update lands, and
    // the next step's replay buffer must already hold them.
    if (task.exemplars_wanted > 0 && !entry.exemplarsPushed) {
      const offers = await o.work.offerExemplars(task, task.exemplars_wanted);
      if (offers.length) {
        const res = await withRetry("PushExemplars", () => pushExemplars(client, siteId, task.task_id, offers), retry);
        log.info({ offered: offers.length, accepted: res.accepted_ids.length, rejected: res.rejected.length, reasons: res.rejected.map((r) => r.reason).slice(0, 5) }, "exemplars pushed");
      }
      try {
        markExemplarsPushed(o.config.stateDir, entry);
      } catch (err) {
        if (!(err instanceof StorageWriteError)) throw err;
        log.warn({ err: err.message }, "could not note in the spool that the exemplars were pushed; a retry pushes them again (the coordinator stores each once)");
      }
    }
    const res = await withRetry("PushUpdate", () => pushUpdate(client, entry.header, delta), retry);
    removeSpool(o.config.stateDir, task.task_id);
    if (secagg) {
      st.state = "secure-aggregation";
      await secagg.unmask(signal);
    }
    st.progress = 1;
    log.info({ update: res.update_id.slice(0, 12), accepted: res.accepted, duplicate: res.duplicate, bytes: delta.length }, "update pushed");
  } catch (err) {
    // The coordinator's answer is final (rejected, stale, gone): the spooled work is of no further use.
    // On shutdown or a transport failure it stays for the next attempt.
    const code = (err as grpc.ServiceError).code;
    if (!signal.aborted && [grpc.status.INVALID_ARGUMENT, grpc.status.FAILED_PRECONDITION, grpc.status.NOT_FOUND, grpc.status.PERMISSION_DENIED, grpc.status.DATA_LOSS].includes(code)) {
      removeSpool(o.config.stateDir, task.task_id);
    }
    throw err;
  }
  try {
    // The agent's disk use goes with the task's metrics, so the coordinator sees every site's.
    const disk = diskUsageMetrics(agentDiskUsage(o.config.stateDir));
    await call(client.ReportMetrics.bind(client), { site_id: siteId, task_id: task.task_id, metrics: [...(entry.header.metrics ?? []), ...disk], notes: [], outcome: { kind: taskOutcomeWire.toWire("ok"), reason: "" } });
  } catch (err) {
    log.warn({ err: (err as Error).message }, "metrics not reported; the update itself reached the coordinator");
  }
}

/**
 * One evaluation: download the version (only when the site agrees to evaluate), evaluate it on the
 * site's held-out split, return the statistics. A refusal or a failure is said once, with its
 * reason, and the cell stays empty; nothing else about the test split ever leaves.
 */
async function runEvalTask(client: SiteServiceClient, o: AgentOptions, siteId: string, task: EvalTask__Output, st: AgentState, signal: AbortSignal): Promise<void> {
  const log = o.logger.child({ evalTaskId: task.task_id, step: task.step, version: task.model_version.slice(0, 12) });
  const report = (body: object): Promise<unknown> =>
    withRetry("ReportEvaluation", () => call(client.ReportEvaluation.bind(client), { site_id: siteId, task_id: task.task_id, ...body }), { signal, logger: log });
  st.state = "evaluating";
  log.info({ domain: task.domain }, "evaluation task received");
  try {
    if (!o.work.evaluate) throw new TaskRefusedError("this agent does not evaluate at the site");
    const model = async (): Promise<Buffer> => {
      st.state = "downloading";
      const path = join(o.config.stateDir, "models", `${task.model_version}.safetensors`);
      await pullModel(client, siteId, task.model_version, path, { logger: log });
      st.state = "evaluating";
      return readFileSync(path);
    };
    const result = await o.work.evaluate(task, model, signal);
    await report({ result });
    log.info({ ap: Number((Number(result.stats?.[0] ?? 0) * 100).toFixed(2)) }, "evaluation reported");
  } catch (err) {
    if (signal.aborted) return void log.info("evaluation interrupted");
    const refused = err instanceof TaskRefusedError;
    const reason = (err as Error).message.slice(0, 480);
    log[refused ? "warn" : "error"]({ reason }, refused ? "evaluation refused" : "evaluation failed");
    try {
      await report({ outcome: { kind: taskOutcomeWire.toWire(refused ? "refused" : "failed"), reason } });
    } catch (reportErr) {
      log.warn({ err: (reportErr as Error).message }, "could not tell the coordinator; the cell closes at its deadline");
    }
  }
}
