/**
 * Central evaluation on JetStream workers (issue 25 item 3): throughput of 1 against 2 `medfcl
 * eval-worker` processes on the same queue. A real nats-server (JetStream), a real coordinator (in
 * this process, with coordinator.evalWorkers "external" so it evaluates nothing itself), real worker
 * processes that fetch each model over gRPC and evaluate it with ONNX + the COCO port.
 *
 * Per row: `versions` fresh nano model versions (new seeds, so no result is cached), each evaluated
 * on every domain of the synthetic suite's test splits: versions × domains jobs. Wall time is from
 * publishing the first job to storing the last result. The ratio is jobs/s against the 1-worker row
 * of the same run.
 *
 * Run: npx tsx bench/eval-workers.ts [scale=tiny] [versions=2] [workers=1,2] [threads=1]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { coordinatorSchema } from "../services/config/index.js";
import { synthesizeSuite, type SuiteScale } from "../services/data/index.js";
import { silentLogger } from "../services/log/index.js";
import { startCoordinator } from "../coordinator/index.js";
import { detectorModelOps } from "../coordinator/model-ops-detector.js";
import { startNatsServer } from "../tests/helpers/nats.js";

const repo = join(fileURLToPath(import.meta.url), "..", "..");
const scale = (process.argv[2] ?? "tiny") as SuiteScale;
const versions = Number(process.argv[3] ?? "2");
const workerCounts = (process.argv[4] ?? "1,2").split(",").map(Number);
const threads = Number(process.argv[5] ?? "1");
if (!["tiny", "small"].includes(scale) || !(versions > 0) || !workerCounts.every((n) => n > 0) || !(threads > 0)) {
  process.stderr.write("usage: npx tsx bench/eval-workers.ts [scale=tiny|small] [versions=2] [workers=1,2] [threads=1]\n");
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), "medfcl-bench-evalq-"));
const nats = await startNatsServer();
const procs: ChildProcess[] = [];
try {
  const suite = await synthesizeSuite({ suite: "polyp", out: join(dir, "suite"), seed: 1, scale });
  const evalSets = Object.fromEntries(suite.domains.map((d) => [d.name, join(dir, "suite", d.splits.test)]));
  const sets = Object.entries(evalSets).map(([domain, d]) => ({ domain, dir: d }));
  const models = detectorModelOps({ evalThreads: threads });
  const config = coordinatorSchema.parse({ listen: "127.0.0.1:0", httpListen: "127.0.0.1:0", stateDir: join(dir, "coordinator"), insecure: true, nats: nats.url, evalWorkers: "external", evalSets });
  const coord = await startCoordinator(config, silentLogger(), models);
  const rows: { workers: number; jobs: number; wallS: number; jobsPerS: number }[] = [];
  let seed = 100;
  try {
    for (const n of workerCounts) {
      const ready: Promise<void>[] = [];
      const started: ChildProcess[] = [];
      for (let i = 0; i < n; i++) {
        const args = ["--import", "tsx", join(repo, "cli", "main.ts"), "eval-worker", "--insecure", "--nats", nats.url, "--coordinator", coord.address, "--name", `bench-${n}-${i}`, "--threads", String(threads)];
        for (const s of sets) args.push("--eval-set", `${s.domain}=${s.dir}`);
        const p = spawn(process.execPath, args, { cwd: repo, env: { ...process.env, MEDFCL_LOG_PRETTY: "0" }, stdio: ["ignore", "ignore", "pipe"] });
        procs.push(p);
        started.push(p);
        let log = "";
        ready.push(new Promise((resolve, reject) => {
          p.stderr!.on("data", (d: Buffer) => {
            log += d.toString();
            if (log.includes("eval worker waiting for jobs")) resolve();
          });
          p.once("exit", (code) => reject(new Error(`eval worker exited ${code}: ${log}`)));
        }));
      }
      await Promise.all(ready);
      const fresh = [];
      for (let v = 0; v < versions; v++) fresh.push(coord.ctx.blobs.put(await models.createBase("nano", seed++)));
      const t0 = performance.now();
      const done = await Promise.all(fresh.map((version) => coord.ctx.central.evaluate({ runId: "bench", step: -1, version }, sets)));
      const wallS = (performance.now() - t0) / 1000;
      const failed = done.flatMap((d) => d.failed);
      if (failed.length) throw new Error(`evaluation failed: ${JSON.stringify(failed)}`);
      const jobs = done.reduce((a, d) => a + d.results.length, 0);
      rows.push({ workers: n, jobs, wallS, jobsPerS: jobs / wallS });
      for (const p of started) p.kill("SIGTERM");
      await Promise.all(started.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once("exit", r)))));
    }
  } finally {
    await coord.close();
  }
  const base = rows[0];
  process.stdout.write(`\ncentral evaluation on JetStream workers: ${scale} polyp suite (${sets.length} test splits), nano, ${versions} versions per row, ${threads} onnxruntime thread(s) per worker\n\n`);
  process.stdout.write("| workers | jobs | wall s | jobs/s | × 1 worker |\n|---:|---:|---:|---:|---:|\n");
  for (const r of rows) process.stdout.write(`| ${r.workers} | ${r.jobs} | ${r.wallS.toFixed(1)} | ${r.jobsPerS.toFixed(2)} | ${(r.jobsPerS / base.jobsPerS).toFixed(2)} |\n`);
} finally {
  for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
}
