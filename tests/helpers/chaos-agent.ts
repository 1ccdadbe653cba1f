// A real site agent process for the chaos and fault suites (tests/chaos, tests/faults): the
// protocol loop, spool, retention and retries are the production ones; local training is a fixed
// delta (in the task's encoding) after a pause, so the suites are about crashes and faults, not
// about learning. Every training is logged to CHAOS_TRAIN_LOG with the sha256 of the delta it
// produced, so a suite can tell a retried upload from a retraining; the agent's own log (pino
// JSON) goes to stderr.
import { appendFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { agentSchema } from "../../services/config/index.js";
import { createLogger } from "../../services/log/index.js";
import { encodeDelta, type DeltaEncoding } from "../../services/model/index.js";
import { trainTaskNames } from "../../services/transport/index.js";
import { runAgent } from "../../site-agent/agent.js";
import type { SiteWork } from "../../site-agent/types.js";
import { constantDelta, testManifest } from "./federation.js";

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new TypeError(`chaos agent: ${k} is not set`);
  return v;
};
const site = env("CHAOS_SITE");
const log = env("CHAOS_TRAIN_LOG");
const trainMs = Number(process.env.CHAOS_TRAIN_MS ?? "1500");

const work: SiteWork = {
  manifest: () => testManifest(`dom-${site}`),
  checkTask: () => undefined,
  async train(task, base) {
    appendFileSync(log, `training ${task.task_id}\n`);
    await new Promise((r) => setTimeout(r, trainMs));
    const delta = constantDelta(base, 1e-4 * (task.step + 1));
    const encoding = (trainTaskNames(task).deltaEncoding || "fp32") as DeltaEncoding;
    const bytes = encodeDelta(delta, encoding, {});
    appendFileSync(log, `trained ${task.task_id} ${createHash("sha256").update(bytes).digest("hex")}\n`);
    const dtype = { fp32: "F32", fp16: "F16", int8: "I8", topk: "F32" }[encoding];
    return { delta: bytes, manifest: [...delta].map(([name, t]) => ({ name, dtype, shape: t.shape })), encoding, numSamples: 4, metrics: [] };
  },
  offerExemplars: () => Promise.resolve([]),
};

const abort = new AbortController();
process.on("SIGTERM", () => abort.abort());
const config = agentSchema.parse({ siteId: site, coordinator: env("CHAOS_COORDINATOR"), insecure: true, stateDir: env("CHAOS_STATE_DIR") });
await runAgent({ config, logger: createLogger({ name: `agent-${site}`, level: "info" }), work, signal: abort.signal, maxTasks: 0, pollWaitMs: Number(process.env.CHAOS_POLL_WAIT_MS ?? "20000") });
