import * as grpc from "@grpc/grpc-js";
import type { Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { CoordinatorConfig } from "../services/config/index.js";
import { ErrorCode, MedfclError } from "../services/errors/index.js";
import { ALL_EVENTS_SUBJECT, createEventBus, eventSubject, type EventBus } from "../services/events/index.js";
import type { Logger } from "../services/log/index.js";
import { openBlobStore } from "../services/store/index.js";
import { assertRole, medfclProto, serverCredentials, serverOptions } from "../services/transport/index.js";
import type { CoordinatorContext } from "./context.js";
import * as store from "./store/index.js";
import { adminHandlers } from "./grpc/admin-handlers.js";
import { siteHandlers } from "./grpc/site-handlers.js";
import { createStandardServices } from "./grpc/standard-services.js";
import { createDashboardFeed } from "./dashboard/feed.js";
import { createHub } from "./hub.js";
import { startHttp } from "./http.js";
import type { ModelOps } from "./model-ops.js";
import { executeRun } from "./round-runner.js";
import { startCentralEvaluator, type CentralEvaluator } from "./central-evaluation.js";
import { acquireStateLock, checkStateDir } from "./state-dir.js";
import { createStorageGuard } from "./storage-guard.js";
import { COORDINATOR_VERSION } from "./site-service.js";

export type { ModelOps, DomainEvaluation, EvalSet } from "./model-ops.js";
export { createStrategy, findStrategy, registerStrategy, strategyInfo, strategyNames, type StrategyDefinition, type StrategyInfo, type StrategyTraits } from "./strategies/index.js";
export { checkManifest, checkDelta } from "./validation.js";
export { defaultHyper } from "./admin-service.js";
export { StateDirLockedError, StateMismatchError } from "./state-dir.js";
export { BLOB_KINDS, gcState, inspectState, verifyState, type BlobKind, type GcResult, type VerifyReport } from "./maintenance.js";
export { fmtBytes } from "./storage-guard.js";

export interface RunningCoordinator {
  /** host:port of the gRPC server (the real port when 0 was asked). */
  address: string;
  /** host:port of the plaintext health-only gRPC server, or null when coordinator.healthListen is unset. */
  healthAddress: string | null;
  httpAddress: string;
  ctx: CoordinatorContext;
  /** Resolves when the run finishes (completed or failed). */
  waitForRun(runId: string): Promise<void>;
  close(): Promise<void>;
}

function splitHostPort(hp: string): { host: string; port: number } {
  const i = hp.lastIndexOf(":");
  return { host: hp.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(hp.slice(i + 1)) };
}

function bind(server: grpc.Server, listen: string, key: string, creds: grpc.ServerCredentials): Promise<number> {
  const { host, port } = splitHostPort(listen);
  return new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host.includes(":") ? `[${host}]` : host}:${port}`, creds, (err, p) => (err ? reject(new MedfclError(ErrorCode.Unavailable, `cannot listen on ${listen} (${key}): ${err.message}`, { cause: err })) : resolve(p))),
  );
}

export interface StartOptions {
  events?: EventBus;
  /** Start a new database when the existing one is empty, corrupt or of another schema (--fresh-state). */
  freshState?: boolean;
}

export async function startCoordinator(config: CoordinatorConfig, logger: Logger, models: ModelOps, options: StartOptions = {}): Promise<RunningCoordinator> {
  const abort = new AbortController();
  // The lock comes first: nothing in the state dir (staging uploads included) is touched before it.
  const lock = acquireStateLock(config.stateDir, logger);
  let database: store.Db;
  try {
    checkStateDir(config.stateDir, options.freshState === true, logger);
    database = store.openDb(join(config.stateDir, "coordinator.sqlite"));
  } catch (err) {
    lock.release();
    throw err;
  }
  const blobs = openBlobStore(join(config.stateDir, "blobs"));
  const storage = createStorageGuard({
    stateDir: config.stateDir,
    watermarkBytes: config.minFreeBytes,
    checkMs: config.storageCheckMs,
    logger: logger.child({ component: "storage" }),
    probeDb: () => store.probeWrite(database),
  });
  // Liveness is written behind, on a timer: a flush that fails is retried, and the guard hears of it.
  const liveness = new store.LivenessWriter(database, {
    onFlushError: (err) => {
      if (storage.refusal(err, "liveness flush") === err) logger.error({ err: (err as Error).message }, "liveness flush failed; retrying in a second");
    },
  });
  // The dashboard is fed by the same publish path that goes to NATS: the bus's sink sees every
  // event whether NATS is up or not. A bus handed in by the caller is subscribed to instead.
  const feed = createDashboardFeed();
  const events =
    options.events ??
    (await createEventBus({
      natsUrl: config.nats,
      logger: logger.child({ component: "events" }),
      name: "medfcl-coordinator",
      // Heartbeats are liveness, already kept as sites.last_seen_at; storing each would grow the
      // table by thousands of rows per site and day.
      // While the state dir refuses writes, events still reach NATS, the log and the dashboard; only
      // their SQLite copy is skipped (a failed insert would only add a fault per event).
      sink: (e) => {
        feed.push(e);
        if (e.type === "site.heartbeat" || !storage.writable) return;
        try {
          store.insertEventRow(database, e.type, eventSubject(e), e);
        } catch (err) {
          if (storage.refusal(err, `event ${e.type}`) === err) throw err;
        }
      },
    }));
  if (options.events) await options.events.subscribe(ALL_EVENTS_SUBJECT, (e) => feed.push(e));
  let central: CentralEvaluator;
  try {
    central = await startCentralEvaluator({ db: database, blobs, config, logger, models, signal: abort.signal });
  } catch (err) {
    await events.close();
    database.close();
    lock.release();
    throw err;
  }
  const ctx: CoordinatorContext = {
    db: database,
    liveness,
    blobs,
    config,
    logger,
    events,
    hub: createHub(),
    models,
    central,
    storage,
    runsDir: join(config.stateDir, "runs"),
    version: COORDINATOR_VERSION,
    signal: abort.signal,
  };
  const running = new Map<string, Promise<void>>();
  const startRun = (runId: string): void => {
    if (running.has(runId)) return;
    running.set(
      runId,
      executeRun(ctx, runId).catch((err: unknown) => {
        // executeRun records its own failures; this only keeps a bug from ending the process.
        logger.error({ runId, err: (err as Error).message }, "run executor ended with an error");
      }),
    );
  };

  const server = new grpc.Server(serverOptions());
  const proto = medfclProto();
  server.addService(proto.medfcl.v1.SiteService.service, siteHandlers(ctx));
  server.addService(proto.medfcl.v1.AdminService.service, adminHandlers(ctx, startRun, (call, allowed) => assertRole(call, config.insecure, allowed)));
  const standard = createStandardServices();
  standard.addTo(server, { reflection: true });
  // Probes and balancers see the site service NOT_SERVING while uploads are refused; the server
  // ("") and AdminService stay SERVING, since reads go on (and a liveness probe must not restart it).
  const siteServing = (writable: boolean): void => standard.setServiceStatus("medfcl.v1.SiteService", writable ? "SERVING" : "NOT_SERVING");
  siteServing(storage.writable);
  storage.onChange((st) => siteServing(st.state === "ok"));
  const creds = serverCredentials(config.tls, config.insecure, "coordinator");
  const { host } = splitHostPort(config.listen);
  const boundPort = await bind(server, config.listen, "coordinator.listen", creds);
  let healthServer: grpc.Server | null = null;
  let healthAddress: string | null = null;
  if (config.healthListen) {
    healthServer = new grpc.Server();
    standard.addTo(healthServer, { reflection: false });
    try {
      const hp = splitHostPort(config.healthListen);
      healthAddress = `${hp.host}:${await bind(healthServer, config.healthListen, "coordinator.healthListen", grpc.ServerCredentials.createInsecure())}`;
    } catch (err) {
      server.forceShutdown();
      throw err;
    }
  }
  const http = splitHostPort(config.httpListen);
  let httpServer: HttpServer;
  try {
    httpServer = await startHttp(ctx, http.host, http.port, feed);
  } catch (err) {
    server.forceShutdown();
    healthServer?.forceShutdown();
    throw new MedfclError(ErrorCode.Unavailable, `cannot listen on ${config.httpListen} (coordinator.httpListen): ${(err as Error).message}`, { cause: err });
  }
  const httpPort = (httpServer.address() as AddressInfo).port;
  logger.info({ grpc: `${host}:${boundPort}`, health: healthAddress, http: `${http.host}:${httpPort}`, dashboard: config.dashboardToken ? "on (bearer token)" : "off (no coordinator.dashboardToken)", mtls: !config.insecure, nats: config.nats ?? null, evalSets: Object.keys(config.evalSets) }, "coordinator listening");
  if (config.insecure) logger.warn("plaintext gRPC (--insecure): site identities are taken on trust; use mTLS outside local tests");

  // Resume runs a previous process left running.
  for (const run of store.listRuns(database, { limit: 10_000, offset: 0, state: "running" })) {
    logger.info({ runId: run.runId, name: run.name }, "resuming run");
    startRun(run.runId);
  }

  return {
    address: `${host}:${boundPort}`,
    healthAddress,
    httpAddress: `${http.host}:${httpPort}`,
    ctx,
    async waitForRun(runId: string) {
      for (;;) {
        const p = running.get(runId);
        if (p) return p;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async close() {
      storage.close();
      // Probes and balancers see NOT_SERVING before the ports close.
      standard.setStatus("NOT_SERVING");
      abort.abort();
      // A health Watch stream never ends by itself, so the graceful shutdown gets 5 s at most.
      await Promise.race([new Promise<void>((resolve) => server.tryShutdown(() => resolve())), new Promise<void>((resolve) => setTimeout(resolve, 5000).unref())]);
      server.forceShutdown();
      healthServer?.forceShutdown();
      // Open event streams (SSE) never end by themselves; close() would wait for them forever.
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      });
      await Promise.allSettled([...running.values()]);
      await central.close();
      await events.close();
      try {
        liveness.flush();
      } catch (err) {
        logger.warn({ err: (err as Error).message }, "the last liveness could not be written; it is a second of heartbeats");
      }
      database.close();
      lock.release();
    },
  };
}
