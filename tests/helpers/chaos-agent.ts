// A real site agent process for the chaos suite (tests/chaos): the protocol loop, spool and
// retries are the production ones; local training is a fixed delta after a pause, so the suite
// is about crashes, not about learning. Every training is logged to CHAOS_TRAIN_LOG with the
// sha256 of the delta it produced, so the suite can tell a retried upload from a retraining.
import { appendFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { agentSchema } from "../../services/config/index.js";
import { createLogger } from "../../services/log/index.js";
import { runAgent } from "../../site-agent/agent.js";
import type { SiteWork } from "../../site-agent/types.js";
import { constantDelta, encodedDelta, manifestOf, testManifest } from "./federation.js";

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
    const bytes = encodedDelta(delta);
    appendFileSync(log, `trained ${task.task_id} ${createHash("sha256").update(bytes).digest("hex")}\n`);
    return { delta: bytes, manifest: manifestOf(delta), encoding: "fp32", numSamples: 4, metrics: [] };
  },
  offerExemplars: () => Promise.resolve([]),
};

const abort = new AbortController();
process.on("SIGTERM", () => abort.abort());
const config = agentSchema.parse({ siteId: site, coordinator: env("CHAOS_COORDINATOR"), insecure: true, stateDir: env("CHAOS_STATE_DIR") });
await runAgent({ config, logger: createLogger({ name: `agent-${site}`, level: "info" }), work, signal: abort.signal, maxTasks: 0 });
