/**
 * Agent disk use over many tasks (issue 27): one site agent runs 100 tasks, each from a new model
 * version (FedAvg over one site, 100 rounds, the nano model), against a coordinator in this process
 * over real gRPC on loopback. Twice: once keeping every model (agent.keepModels = 1000: what the
 * agent did before retention) as the baseline, once with the retention setting (default 2). The
 * sizes are the ones each task reports to the coordinator after its upload (agent_models_bytes,
 * agent_state_bytes: the whole state dir), so the table is what an operator sees in the metrics.
 * Local training is a constant delta (no learning): this measures files, not models.
 *
 * Run: npx tsx bench/agent-disk.ts [tasks=100] [keepModels=2]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agentSchema, coordinatorSchema } from "../services/config/index.js";
import { silentLogger } from "../services/log/index.js";
import { encodeDelta, parseCheckpoint } from "../services/model/index.js";
import { mapTensors } from "../services/tensors/index.js";
import { createAdminClient } from "../services/transport/index.js";
import { startCoordinator } from "../coordinator/index.js";
import { detectorModelOps } from "../coordinator/model-ops-detector.js";
import * as store from "../coordinator/store/index.js";
import { runAgent } from "../site-agent/agent.js";
import { agentDiskUsage } from "../site-agent/retention.js";
import type { SiteWork } from "../site-agent/types.js";

const tasks = Number(process.argv[2] ?? "100");
const keepModels = Number(process.argv[3] ?? "2");
if (!Number.isInteger(tasks) || tasks < 1 || !Number.isInteger(keepModels) || keepModels < 0) {
  process.stderr.write("usage: npx tsx bench/agent-disk.ts [tasks=100] [keepModels=2]\n");
  process.exit(2);
}

const work: SiteWork = {
  manifest: () => ({ domain: "bench", task: "polyp", num_images: 10, num_annotations: 10, categories: [{ id: 1, name: "polyp", prompt: { prefix: "", name: "polyp", suffix: "" } }], annotations_sha256: "0".repeat(64), num_shareable: 0 }),
  checkTask: () => undefined,
  async train(_task, base) {
    const { tensors } = parseCheckpoint(base);
    const delta = mapTensors(tensors, (t) => new Float32Array(t.data.length).fill(1e-5));
    return { delta: encodeDelta(delta, "fp32", {}), manifest: [...delta].map(([name, t]) => ({ name, dtype: "F32", shape: t.shape })), encoding: "fp32", numSamples: 10, metrics: [] };
  },
  offerExemplars: () => Promise.resolve([]),
};

interface Sample {
  task: number;
  modelsCount: number;
  modelsBytes: number;
  stateBytes: number;
  spoolBytes: number;
}

async function measure(keep: number): Promise<{ samples: Sample[]; final: ReturnType<typeof agentDiskUsage>; seconds: number }> {
  const root = mkdtempSync(join(tmpdir(), "medfcl-bench-disk-"));
  const coord = await startCoordinator(
    coordinatorSchema.parse({ listen: "127.0.0.1:0", httpListen: "127.0.0.1:0", stateDir: join(root, "coord"), insecure: true, heartbeatIntervalMs: 1000, heartbeatMisses: 1000 }),
    silentLogger(),
    detectorModelOps(),
  );
  const admin = createAdminClient(coord.address, { insecure: true });
  const abort = new AbortController();
  const stateDir = join(root, "agent");
  const config = agentSchema.parse({ siteId: "bench-site", coordinator: coord.address, insecure: true, stateDir, keepModels: keep });
  const agent = runAgent({ config, logger: silentLogger(), work, signal: abort.signal, pollWaitMs: 500 });
  const started = Date.now();
  try {
    const run = await admin.createRun({ name: "disk", strategy: "joint", sites: ["bench-site"], seed: 1, model: "nano", options: { rounds: String(tasks) } });
    const done = await admin.waitForRun(run.run_id, { pollMs: 200 });
    if (done.state !== "completed") throw new Error(`run ended ${done.state}`);
    const seconds = (Date.now() - started) / 1000;
    const byTask = new Map<string, Record<string, number>>();
    for (const m of store.metricsForRun(coord.ctx.db, run.run_id)) if (m.taskId && m.name.startsWith("agent_")) (byTask.get(m.taskId) ?? byTask.set(m.taskId, {}).get(m.taskId)!)[m.name] = m.value;
    const ordered = store.tasksOfRun(coord.ctx.db, run.run_id).map((t) => byTask.get(t.taskId) ?? {});
    const samples = ordered.map((m, i) => ({ task: i + 1, modelsCount: m.agent_models_count, modelsBytes: m.agent_models_bytes, stateBytes: m.agent_state_bytes, spoolBytes: m.agent_spool_bytes }));
    return { samples, final: agentDiskUsage(stateDir), seconds };
  } finally {
    abort.abort();
    await agent;
    admin.close();
    await coord.close();
    rmSync(root, { recursive: true, force: true });
  }
}

const mb = (b: number): string => (b / 1e6).toFixed(1);
const baseline = await measure(1000);
const kept = await measure(keepModels);
const at = [1, Math.round(tasks / 4), Math.round(tasks / 2), Math.round((3 * tasks) / 4), tasks].filter((v, i, a) => v >= 1 && a.indexOf(v) === i);
process.stdout.write(`agent disk use after N tasks (nano, one new model per task), keepModels=${keepModels} vs keep-all baseline; sizes as each task reports them after its upload\n\n`);
process.stdout.write("| tasks | models kept (all / retention) | models MB (all / retention) | state dir MB (all / retention) | ratio |\n|---:|---:|---:|---:|---:|\n");
for (const n of at) {
  const a = baseline.samples[n - 1];
  const r = kept.samples[n - 1];
  process.stdout.write(`| ${n} | ${a.modelsCount} / ${r.modelsCount} | ${mb(a.modelsBytes)} / ${mb(r.modelsBytes)} | ${mb(a.stateBytes)} / ${mb(r.stateBytes)} | ${(r.stateBytes / a.stateBytes).toFixed(3)}× |\n`);
}
const peak = (s: Sample[], k: keyof Sample): number => Math.max(...s.map((x) => x[k]));
process.stdout.write(`\npeak models held: ${peak(baseline.samples, "modelsCount")} (all) vs ${peak(kept.samples, "modelsCount")} (retention; bound: keepModels + the open task's = ${keepModels + 1})\n`);
process.stdout.write(`peak spool: ${mb(peak(baseline.samples, "spoolBytes"))} MB (all) vs ${mb(peak(kept.samples, "spoolBytes"))} MB (retention)\n`);
process.stdout.write(`after the run: ${baseline.final.modelsCount} models, ${mb(baseline.final.totalBytes)} MB (all) vs ${kept.final.modelsCount} models, ${mb(kept.final.totalBytes)} MB (retention)\n`);
process.stdout.write(`wall time: ${baseline.seconds.toFixed(0)} s (all) vs ${kept.seconds.toFixed(0)} s (retention)\n`);
