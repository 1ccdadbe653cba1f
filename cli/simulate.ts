import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, createWriteStream, existsSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { constants as osConstants } from "node:os";
import { join, resolve } from "node:path";
import { ensureSyntheticSuite, readSuiteIndex, syntheticSuiteName, trainingDomains, type SuiteIndex } from "../services/data/index.js";
import { writeAuditReport } from "../services/eval/index.js";
import { ErrorCode, MedfclError } from "../services/errors/index.js";
import { DEFAULT_MODEL_FAMILY, findModelFamily, loadBaseWeights, modelFamily, modelFamilyNames, needsBaseWeights, type DeltaEncoding } from "../services/model/index.js";
import type { Logger } from "../services/log/index.js";
import type { Hyperparameters } from "../generated/medfcl/v1/Hyperparameters.js";
import { writeFileAtomicSync } from "../services/store/index.js";
import { createStrategy, findStrategy, strategyInfo, strategyNames, type StrategyInfo } from "../coordinator/strategies/index.js";
import { PKI_FILES, createAdminClient, deltaEncodingWire, evaluationPlacementWire, initCaDir, type EvaluationPlacement, writeAdminCredentials, writeCoordinatorCredentials, writeSiteCredentials } from "../services/transport/index.js";

/** One run of an explicit plan: a strategy with its own options, copied to `out/runs/<label>`. */
export interface SimulateRunSpec {
  label: string;
  strategy: string;
  options: Record<string, string>;
}

export interface SimulateRunResult {
  strategy: string;
  state: string;
  dir: string;
  /** Set for runs of an explicit plan (`runs`). */
  label?: string;
  seconds: number;
}

export interface SimulateOptions {
  suite: "polyp" | "tasks";
  sites: number;
  strategy: string;
  /** Further strategies run after the first on the same sites, for a side-by-side table. */
  compare: string[];
  buffer: number;
  sampler: string;
  mix: number;
  seed: number;
  scale: "tiny" | "small" | "full";
  /** The synthetic generator's version when the suite is synthesized; default SYNTH_GENERATOR_VERSION. */
  generator?: number;
  out: string;
  /** Where the synthetic suite lives (made if missing); a real suite.json folder works too. */
  dataRoot?: string;
  epochs: number;
  lr: number;
  batchSize: number;
  maxSteps: number;
  /** A model family (services/model/families); default the registry's. */
  model: string;
  /** Weights of a pretrained base (default: $MEDFCL_BASE_WEIGHTS, else the cache). */
  baseWeights?: string;
  /** Input side in pixels (0 = the model's default). */
  inputSize?: number;
  /** Encoding of the sites' deltas (default fp32). */
  deltaEncoding?: DeltaEncoding;
  /**
   * Where model versions are evaluated (default central). With "sites" each agent gets its
   * domain's test split (--test-data) and the coordinator none; with "both", both do.
   */
  evaluation?: EvaluationPlacement;
  /** Aggregate each round with SecAgg+ (default off). */
  secureAggregation?: boolean;
  /** Frozen bottom image stages and gradient clip (default: the model family's training defaults). */
  freezeStages?: number;
  gradClip?: number;
  insecure: boolean;
  logger: Logger;
  /**
   * An explicit plan that replaces `strategy` + `compare`: each entry runs with exactly its own
   * options on the same coordinator and agents, and its files go to `out/runs/<label>`.
   */
  runs?: SimulateRunSpec[];
  /** Write the audit report of `out` at the end (default true). */
  report?: boolean;
  /** Called as each run of the plan completes (before the next starts), e.g. to store it and report progress. */
  onRunCompleted?: (run: SimulateRunResult) => void;
  /**
   * Agents for these datasets instead of one per training domain of the suite (e.g. one site that
   * holds the pooled data of every domain: the centralised joint baseline). Evaluation still covers
   * every domain of the suite.
   */
  siteData?: SiteDataset[];
}

/** One agent's data: `name` names the site and its domain, `train` is a COCO folder. */
export interface SiteDataset {
  name: string;
  task: string;
  train: string;
  /** The domain's held-out split, given to the agent when the sites evaluate. */
  test?: string;
}

/** What `simulate` runs when told nothing: the registry's default model with its training defaults. */
export function defaultSimulateOptions(model = DEFAULT_MODEL_FAMILY): Omit<SimulateOptions, "logger" | "out"> {
  const t = modelFamily(model).training;
  return { suite: "polyp", sites: 5, strategy: "rehearsal", compare: [], buffer: 100, sampler: "random", mix: 0.3, seed: 1, scale: "small", epochs: t.epochs, lr: t.lr, batchSize: t.batchSize, maxSteps: 0, model, insecure: false };
}

/** The hyper-parameters every run of a simulation asks for: the options', the rest its model family's training defaults. */
export function simulateHyperparameters(o: Pick<SimulateOptions, "model" | "lr" | "batchSize" | "epochs" | "freezeStages" | "gradClip" | "seed" | "maxSteps" | "inputSize">): Hyperparameters {
  const train = modelFamily(o.model).training;
  return {
    lr: o.lr,
    text_lr: o.lr * train.textLrRatio,
    batch_size: o.batchSize,
    epochs: o.epochs,
    freeze_stages: o.freezeStages ?? train.freezeStages,
    grad_clip: o.gradClip ?? train.gradClip,
    weight_decay: train.weightDecay,
    seed: o.seed,
    max_steps: o.maxSteps,
    input_size: o.inputSize ?? 0,
  };
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

/** The command line that runs this same CLI (tsx in development, dist/ when built). */
function cliCommand(): string[] {
  return [process.execPath, ...process.execArgv, process.argv[1]];
}

interface Child {
  name: string;
  proc: ChildProcess;
}

function startChild(name: string, args: string[], logFile: string, children: Child[], env: Record<string, string> = {}): ChildProcess {
  const [cmd, ...pre] = cliCommand();
  const log = createWriteStream(logFile, { flags: "a" });
  const proc = spawn(cmd, [...pre, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, MEDFCL_LOG_PRETTY: "0", ...env } });
  proc.stdout?.pipe(log);
  proc.stderr?.pipe(log);
  children.push({ name, proc });
  return proc;
}

function stopOne(c: Child): Promise<void> {
  return new Promise<void>((resolveStop) => {
    if (c.proc.exitCode !== null || c.proc.signalCode !== null) return resolveStop();
    const t = setTimeout(() => c.proc.kill("SIGKILL"), 10_000);
    c.proc.once("exit", () => (clearTimeout(t), resolveStop()));
    c.proc.kill("SIGTERM");
  });
}

/** Agents first, then the coordinator, then NATS: each goes down while what it talks to is still up. */
async function stopChildren(children: Child[]): Promise<void> {
  const rank = (c: Child): number => (c.name === "nats" ? 2 : c.name === "coordinator" ? 1 : 0);
  for (const level of [0, 1, 2]) await Promise.all(children.filter((c) => rank(c) === level).map(stopOne));
}

export function natsServerPath(): string | null {
  const r = spawnSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

async function ensureSuite(o: SimulateOptions): Promise<{ dir: string; index: SuiteIndex }> {
  const synth = { suite: o.suite, seed: o.seed, scale: o.scale, generator: o.generator };
  const dir = resolve(o.dataRoot ?? join(o.out, "..", ".data", syntheticSuiteName(synth)));
  // A --data-root that already holds a suite (real or synthetic) is used as it is.
  if (o.dataRoot !== undefined && existsSync(join(dir, "suite.json"))) return { dir, index: readSuiteIndex(dir) };
  const index = await ensureSyntheticSuite({ ...synth, out: dir }, (generator) => o.logger.info({ dir, ...synth, generator }, "synthesizing the data suite"));
  return { dir, index };
}

/**
 * The runs to make, each checked against its strategy's option schema before any process starts.
 * Without an explicit plan, `--strategy` and `--compare` run with label "" (the old layout: out/ or
 * out/<strategy>), and the --buffer, --sampler and --mix flags go to the strategies that take
 * options of those names.
 */
export function simulationPlan(o: Pick<SimulateOptions, "runs" | "strategy" | "compare" | "buffer" | "sampler" | "mix">): SimulateRunSpec[] {
  const flags: Record<string, string> = { buffer: String(o.buffer), sampler: o.sampler, mix: String(o.mix) };
  const plan =
    o.runs ??
    [o.strategy, ...o.compare].map((strategy, i): SimulateRunSpec => {
      const schema = strategyOrUsageError(strategy, i === 0 ? "--strategy" : "--compare").options;
      return { label: "", strategy, options: Object.fromEntries(Object.entries(flags).filter(([key]) => key in schema)) };
    });
  for (const run of plan) createStrategy(run.strategy, run.options);
  return plan;
}

function strategyOrUsageError(name: string, option: string): StrategyInfo {
  const info = findStrategy(name);
  if (!info) throw new MedfclError(ErrorCode.InvalidArgument, `${option} must name one of ${strategyNames().join(", ")}, got "${name}"`, { details: { option } });
  return info;
}

function issueDevCertificates(pkiDir: string, siteIds: string[]): void {
  const caDir = join(pkiDir, "ca");
  if (!existsSync(join(caDir, PKI_FILES.caCert))) {
    initCaDir(caDir, { keyBits: 2048 });
    writeCoordinatorCredentials(caDir, ["localhost", "127.0.0.1"], join(pkiDir, "coordinator"), { keyBits: 2048 });
    for (const id of siteIds) writeSiteCredentials(caDir, id, join(pkiDir, id), { keyBits: 2048 });
  }
  // A folder from a release before certificate roles holds admin/site.crt, which no longer makes an admin.
  if (!existsSync(join(pkiDir, "admin", PKI_FILES.adminCert))) writeAdminCredentials(caDir, "admin", join(pkiDir, "admin"), { keyBits: 2048 });
}

/**
 * A coordinator and one agent process per site on loopback, with mTLS and (when nats-server is on
 * PATH) NATS; runs the plan, writes R.json and the audit report into `out`.
 */
export async function simulate(o: SimulateOptions): Promise<{ reportDir: string; runs: SimulateRunResult[] }> {
  // The model (and a pretrained base's weights) is checked before any process starts, so a typo or
  // a missing file is one clear error rather than a run the coordinator refuses over and over.
  if (!findModelFamily(o.model)) {
    throw new MedfclError(ErrorCode.InvalidArgument, `--model must be one of ${modelFamilyNames().join(", ")}, got "${o.model}"`, { details: { option: "--model" } });
  }
  if (needsBaseWeights(o.model)) await loadBaseWeights(o.model, o.baseWeights);
  const plan = simulationPlan(o);
  const log = o.logger;
  const out = resolve(o.out);
  mkdirSync(join(out, "logs"), { recursive: true });
  const { dir: dataDir, index } = await ensureSuite(o);
  const trainDomains = trainingDomains(index);
  if (!o.siteData && (o.sites < 1 || o.sites > trainDomains.length)) {
    throw new MedfclError(ErrorCode.InvalidArgument, `--sites must be between 1 and ${trainDomains.length} (training domains in ${dataDir})`, { details: { option: "--sites" } });
  }
  const domains: SiteDataset[] = o.siteData ?? trainDomains.slice(0, o.sites).map((d) => ({ name: d.name, task: d.task, train: join(dataDir, d.splits.train!), test: join(dataDir, d.splits.test) }));
  const evaluation = o.evaluation ?? "central";
  const siteIds = domains.map((d, i) => `site-${i + 1}-${d.name.toLowerCase().replace(/[^a-z0-9-]/g, "-")}`.slice(0, 63));
  const pki = join(out, "pki");
  if (!o.insecure) issueDevCertificates(pki, siteIds);
  const tls = (who: string, certName: string): string[] =>
    o.insecure ? ["--insecure"] : ["--tls-ca", join(pki, "ca", "ca.crt"), "--tls-cert", join(pki, who, `${certName}.crt`), "--tls-key", join(pki, who, `${certName}.key`)];

  const children: Child[] = [];
  // SIGTERM or Ctrl-C stops the federation in order and then this process (without these handlers
  // Node dies at once and leaves the coordinator, agents and nats-server running); an exit by any
  // other path still signals every child, as "exit" handlers cannot wait.
  const signalAll = (): void => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGTERM");
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    log.warn({ signal }, "stopping the agents, the coordinator and nats-server");
    void stopChildren(children).finally(() => process.exit(128 + (osConstants.signals[signal] ?? 0)));
  };
  process.once("exit", signalAll);
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  try {
    let natsUrl: string | undefined;
    const nats = natsServerPath();
    if (nats) {
      const port = await freePort();
      rmSync(join(out, "nats"), { recursive: true, force: true });
      const proc = spawn(nats, ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", join(out, "nats")], { stdio: ["ignore", "pipe", "pipe"] });
      const logStream = createWriteStream(join(out, "logs", "nats.log"));
      proc.stdout?.pipe(logStream);
      proc.stderr?.pipe(logStream);
      children.push({ name: "nats", proc });
      natsUrl = `nats://127.0.0.1:${port}`;
      await new Promise((r) => setTimeout(r, 500));
      log.info({ url: natsUrl }, "started nats-server with JetStream");
    } else {
      log.warn("nats-server is not on PATH: events go to the coordinator log and SQLite only (apt-get install nats-server)");
    }

    const grpcPort = await freePort();
    const httpPort = await freePort();
    const dashboardToken = process.env.MEDFCL_COORDINATOR_DASHBOARD_TOKEN ?? randomBytes(24).toString("hex");
    const address = `127.0.0.1:${grpcPort}`;
    // Evaluated at the sites only, the coordinator holds no test split at all.
    const evalArgs = evaluation === "sites" ? [] : index.domains.flatMap((d) => ["--eval-set", `${d.name}=${join(dataDir, d.splits.test)}`]);
    startChild(
      "coordinator",
      [
        "coordinator",
        "--listen",
        address,
        "--http",
        `127.0.0.1:${httpPort}`,
        "--state-dir",
        join(out, "coordinator"),
        ...evalArgs,
        ...(natsUrl ? ["--nats", natsUrl] : []),
        ...(o.baseWeights ? ["--base-weights", resolve(o.baseWeights)] : []),
        ...tls("coordinator", "coordinator"),
      ],
      join(out, "logs", "coordinator.log"),
      children,
      // A fresh token per simulation, through the environment so it stays out of `ps`.
      { MEDFCL_COORDINATOR_DASHBOARD_TOKEN: dashboardToken },
    );
    log.info({ grpc: address, dashboard: `http://127.0.0.1:${httpPort}/?token=${dashboardToken}`, logs: join(out, "logs") }, "coordinator started");
    domains.forEach((d, i) => {
      startChild(
        siteIds[i],
        [
          "agent",
          "--site",
          siteIds[i],
          "--coordinator",
          address,
          "--data",
          d.train,
          ...(evaluation !== "central" && d.test ? ["--test-data", d.test] : []),
          "--domain",
          d.name,
          "--task",
          d.task,
          "--state-dir",
          join(out, "agents", siteIds[i]),
          "--server-name",
          "localhost",
          ...tls(siteIds[i], "site"),
        ],
        join(out, "logs", `${siteIds[i]}.log`),
        children,
      );
    });
    log.info({ sites: siteIds }, `started ${siteIds.length} agent processes`);

    const admin = createAdminClient(address, o.insecure ? { insecure: true } : { insecure: false, serverName: "localhost", tls: { ca: join(pki, "ca", "ca.crt"), cert: join(pki, "admin", PKI_FILES.adminCert), key: join(pki, "admin", PKI_FILES.adminKey) } });
    const results: SimulateRunResult[] = [];
    try {
      for (const { strategy, options, label } of plan) {
        const name = `${label || strategy}-seed${o.seed}-${Date.now().toString(36)}`;
        let runId = "";
        const started = Date.now();
        for (let attempt = 0; ; attempt++) {
          try {
            const run = await admin.createRun({
              name,
              strategy,
              sites: siteIds,
              options,
              seed: o.seed,
              model: o.model,
              delta_encoding: deltaEncodingWire.toWire(o.deltaEncoding ?? "fp32"),
              evaluation: evaluationPlacementWire.toWire(evaluation),
              secure_aggregation: o.secureAggregation === true,
              hyperparameters: simulateHyperparameters(o),
            });
            runId = run.run_id;
            break;
          } catch (err) {
            // Agents register as they start; until all have, the coordinator refuses the run.
            if (attempt > 240) throw err;
            for (const c of children) {
              if (c.proc.exitCode !== null) throw new MedfclError(ErrorCode.Unavailable, `${c.name} exited with code ${c.proc.exitCode}; see ${join(out, "logs", `${c.name}.log`)}`);
            }
            await new Promise((r) => setTimeout(r, 500));
          }
        }
        const plannedSteps = strategyInfo(strategy).traits.stepCount(siteIds.length);
        log.info({ runId, name, strategy, steps: plannedSteps }, "run started");
        let lastSteps = -1;
        const final = await admin.waitForRun(runId, {
          pollMs: 1000,
          onUpdate: (run) => {
            const closed = run.steps.filter((s) => s.state === "closed").length;
            if (closed !== lastSteps) {
              lastSteps = closed;
              log.info({ strategy, closed, of: plannedSteps, elapsedS: Math.round((Date.now() - started) / 1000) }, "progress");
            }
            for (const c of children) {
              if (c.proc.exitCode !== null && c.proc.exitCode !== 0) throw new MedfclError(ErrorCode.Unavailable, `${c.name} exited with code ${c.proc.exitCode}; see ${join(out, "logs", `${c.name}.log`)}`);
            }
          },
        });
        const runDir = join(out, "coordinator", "runs", name);
        const target = label ? join(out, "runs", label) : o.compare.length ? join(out, strategy) : out;
        mkdirSync(target, { recursive: true });
        for (const f of ["R.json", "base.json", "run.json", "per_category.json", "categories.json", "evaluation.json"]) {
          if (existsSync(join(runDir, f))) cpSync(join(runDir, f), join(target, f));
        }
        const result: SimulateRunResult = { strategy, state: final.state, dir: target, ...(label ? { label } : {}), seconds: (Date.now() - started) / 1000 };
        results.push(result);
        if (final.state !== "completed") {
          throw new MedfclError(ErrorCode.Aborted, `run ${name} ended ${final.state}: ${final.error}; see ${join(out, "logs")}`);
        }
        log.info({ strategy, seconds: Math.round((Date.now() - started) / 1000) }, "run completed");
        o.onRunCompleted?.(result);
      }
    } finally {
      admin.close();
    }
    writeFileAtomicSync(join(out, "simulation.json"), `${JSON.stringify({ suite: o.suite, scale: o.scale, seed: o.seed, model: o.model, sites: siteIds, strategies: plan.map((r) => r.strategy), data: dataDir, runs: results }, null, 2)}\n`);
    if (o.report === false) return { reportDir: "", runs: results };
    await writeAuditReport(out, join(out, "report"));
    return { reportDir: join(out, "report"), runs: results };
  } finally {
    process.off("exit", signalAll);
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
    await stopChildren(children);
  }
}
