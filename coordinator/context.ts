import type { CoordinatorConfig } from "../services/config/index.js";
import type { EventBus } from "../services/events/index.js";
import type { Logger } from "../services/log/index.js";
import type { BlobStore } from "../services/store/index.js";
import type { Db, LivenessWriter } from "./store/index.js";
import type { Hub } from "./hub.js";
import type { ModelOps } from "./model-ops.js";
import type { CentralEvaluator } from "./central-evaluation.js";
import type { StorageGuard } from "./storage-guard.js";

/** Everything a handler or the round runner needs; built once in startCoordinator. */
export interface CoordinatorContext {
  db: Db;
  /** Sites' last_seen_at, written behind once a second (heartbeats and polls touch it). */
  liveness: LivenessWriter;
  blobs: BlobStore;
  config: CoordinatorConfig;
  logger: Logger;
  events: EventBus;
  hub: Hub;
  models: ModelOps;
  /** Central evaluation: in this process, or jobs on the JetStream work queue with --nats. */
  central: CentralEvaluator;
  /** Whether the state dir takes writes (disk-full / disk-error refuse uploads and run creation). */
  storage: StorageGuard;
  /** Where each run's R.json, base.json and run.json are written for `medfcl audit report`. */
  runsDir: string;
  version: string;
  /** Aborted on shutdown; long polls and the round runner stop waiting. */
  signal: AbortSignal;
}
