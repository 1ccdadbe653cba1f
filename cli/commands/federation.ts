import { status } from "@grpc/grpc-js";
import { type Command } from "commander";
import { readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { connectEvalQueue, runEvalWorker } from "../../services/eval-queue/index.js";
import { SingleBar } from "cli-progress";
import { loadConfig, type MedfclConfig } from "../../services/config/index.js";
import { ErrorCode, MedfclError } from "../../services/errors/index.js";
import { createAdminClient, retryTransient } from "../../services/transport/index.js";
import { startCoordinator, StateDirLockedError, StateMismatchError, strategyInfo, strategyNames } from "../../coordinator/index.js";
import { detectorModelOps } from "../../coordinator/model-ops-detector.js";
import { checkHealth, runAgent } from "../../site-agent/agent.js";
import { createSiteWork } from "../../site-agent/site-work.js";
import { BAD_IMAGE_POLICIES, type BadImagePolicy } from "../../site-agent/image-check.js";
import { DEFAULT_MODEL_FAMILY, DELTA_ENCODINGS, type DeltaEncoding } from "../../services/model/index.js";
import { DROPOUT_POLICIES, EVALUATION_PLACEMENTS, deltaEncodingWire, dropoutPolicyWire, evaluationPlacementWire, type DropoutPolicy, type EvaluationPlacement } from "../../services/transport/index.js";
import { action, choiceOption, commandLogger, defaultByModel, ExitCode, globalOptions, modelOptionHelp, numberOption, reportError, withExamples } from "../context.js";
import { watchRun } from "../watch.js";

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Drops undefined leaves so flags that were not given do not override file or env values. */
function clean(obj: Record<string, unknown>): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const inner = clean(v as Record<string, unknown>);
      if (Object.keys(inner).length) out[k] = inner;
    } else out[k] = v as Json;
  }
  return out;
}

function parseEvalSets(pairs: string[] | undefined): Record<string, string> | undefined {
  if (!pairs?.length) return undefined;
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf("=");
    if (i <= 0) throw new MedfclError(ErrorCode.InvalidArgument, `--eval-set expects DOMAIN=DIR, got "${p}"`, { details: { option: "--eval-set" } });
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

/** The coordinator's INVALID_ARGUMENT is bad usage of the command (exit 2), like a bad flag. */
function usageOnInvalidArgument(err: unknown): never {
  if ((err as { code?: unknown }).code === status.INVALID_ARGUMENT) {
    throw new MedfclError(ErrorCode.InvalidArgument, (err as Error).message.replace(/^\d+ INVALID_ARGUMENT: /, ""), { cause: err });
  }
  throw err;
}

function onSignals(abort: AbortController, log: { info: (o: object, m: string) => void }): void {
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    process.once(sig, () => {
      log.info({ signal: sig }, "shutting down");
      abort.abort();
    });
  }
}

interface CoordinatorFlags {
  listen?: string;
  http?: string;
  healthListen?: string;
  stateDir?: string;
  nats?: string;
  insecure?: boolean;
  evalSet?: string[];
  evalWorkers?: "in-process" | "external";
  evalAckWaitMs?: number;
  evalMaxDeliver?: number;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  deadlineMs?: number;
  normBound?: number;
  baseWeights?: string;
  minFreeBytes?: number;
}

export function coordinatorConfigFrom(cmd: Command, f: CoordinatorFlags): MedfclConfig {
  return loadConfig({
    file: globalOptions(cmd).config,
    env: process.env,
    overrides: clean({
      coordinator: {
        listen: f.listen,
        httpListen: f.http,
        healthListen: f.healthListen,
        stateDir: f.stateDir,
        nats: f.nats,
        insecure: f.insecure,
        evalSets: parseEvalSets(f.evalSet),
        evalWorkers: f.evalWorkers,
        evalQueue: { ackWaitMs: f.evalAckWaitMs, maxDeliver: f.evalMaxDeliver },
        baseWeights: f.baseWeights,
        tls: { ca: f.tlsCa, cert: f.tlsCert, key: f.tlsKey },
        taskDeadlineMs: f.deadlineMs,
        updateNormBound: f.normBound,
        minFreeBytes: f.minFreeBytes,
      },
    }),
  });
}

interface AgentFlags {
  site?: string;
  coordinator?: string;
  data?: string;
  testData?: string;
  domain?: string;
  task?: string;
  stateDir?: string;
  insecure?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  backend?: string;
  maxTasks?: number;
  serverName?: string;
  keepModels?: number;
  badImages?: BadImagePolicy;
}

function agentConfigFrom(cmd: Command, f: AgentFlags): MedfclConfig {
  return loadConfig({
    file: globalOptions(cmd).config,
    env: process.env,
    overrides: clean({
      agent: {
        siteId: f.site,
        coordinator: f.coordinator,
        data: f.data,
        testData: f.testData,
        domain: f.domain,
        task: f.task,
        stateDir: f.stateDir,
        insecure: f.insecure,
        backend: f.backend,
        keepModels: f.keepModels,
        badImages: f.badImages,
        tls: { ca: f.tlsCa, cert: f.tlsCert, key: f.tlsKey },
      },
    }),
  });
}

function addTlsFlags(cmd: Command): Command {
  return cmd
    .option("--tls-ca <file>", "consortium CA certificate (PEM)")
    .option("--tls-cert <file>", "this process's certificate (PEM)")
    .option("--tls-key <file>", "this process's private key (PEM)")
    .option("--insecure", "plaintext gRPC; only for local experiments");
}

export function registerFederation(program: Command): void {
  const coordinator = addTlsFlags(
    program
      .command("coordinator")
      .description("run the coordinator: gRPC for agents and admins, scheduler, aggregation, central evaluation, audit")
      .option("--listen <host:port>", "gRPC address (coordinator.listen)")
      .option("--http <host:port>", "dashboard, /metrics and /healthz (coordinator.httpListen)")
      .option("--health-listen <host:port>", "plaintext gRPC serving only grpc.health.v1, for probes (coordinator.healthListen)")
      .option("--state-dir <dir>", "SQLite and blob store (coordinator.stateDir)")
      .option("--nats <url>", "publish events to this NATS server with JetStream")
      .option("--eval-set <domain=dir>", "a central test set, repeatable", collect)
      .option("--eval-workers <who>", "with --nats, who answers the evaluation queue: in-process (the coordinator too, the default) | external (only `medfcl eval-worker`)", choiceOption("--eval-workers", ["in-process", "external"] as const))
      .option("--eval-ack-wait-ms <ms>", "an eval job not acknowledged within this is redelivered (coordinator.evalQueue.ackWaitMs, default 30000)", numberOption("--eval-ack-wait-ms", true))
      .option("--eval-max-deliver <n>", "deliveries of an eval job before its cell is reported as failed (coordinator.evalQueue.maxDeliver, default 5)", numberOption("--eval-max-deliver", true))
      .option("--deadline-ms <ms>", "task deadline", numberOption("--deadline-ms", true))
      .option("--norm-bound <l2>", "reject updates whose L2 norm exceeds this", numberOption("--norm-bound"))
      .option("--min-free-bytes <n>", "free bytes the state dir must keep; below it uploads and new runs are refused until there is room (coordinator.minFreeBytes, default 256 MiB; 0 = off)", numberOption("--min-free-bytes", true, { min: 0 }))
      .option("--fresh-state", "start a new database when the existing one is empty, corrupt or of another schema (the old file is kept as .bak)")
      .option("--base-weights <file>", "pretrained base weights for runs whose model is one, e.g. yolox_nano.onnx (coordinator.baseWeights; default: the cache of `medfcl model fetch`)"),
  ).action(
    action(async (flags: CoordinatorFlags & { freshState?: boolean }, cmd: Command) => {
      const cfg = coordinatorConfigFrom(cmd, flags);
      const log = commandLogger(cmd, "coordinator");
      let running;
      try {
        running = await startCoordinator(cfg.coordinator, log, detectorModelOps({ baseWeights: cfg.coordinator.baseWeights }), { freshState: flags.freshState === true });
      } catch (err) {
        // Another owner, or a database that does not match its blobs: the operator must act (exit 2).
        if (!(err instanceof StateDirLockedError || err instanceof StateMismatchError)) throw err;
        reportError(err);
        return ExitCode.Usage;
      }
      const abort = new AbortController();
      onSignals(abort, log);
      await new Promise<void>((resolve) => abort.signal.addEventListener("abort", () => resolve(), { once: true }));
      await running.close();
    }),
  );
  withExamples(coordinator, [
    "medfcl coordinator --state-dir /state --tls-ca certs/ca.crt --tls-cert certs/coordinator.crt --tls-key certs/coordinator.key --eval-set kvasir=data/kvasir/test",
    "medfcl coordinator --insecure --listen 127.0.0.1:7443 --nats nats://127.0.0.1:4222",
    "medfcl coordinator --nats nats://nats:4222 --eval-workers external --eval-set kvasir=/data/kvasir/test ...   # only eval-worker processes evaluate",
    "medfcl coordinator --state-dir /state --fresh-state   # the old database is empty or corrupt: keep it as .bak, start anew",
  ]);

  const agent = addTlsFlags(
    program
      .command("agent")
      .description("run a site agent: trains on this site's data and talks only outbound to the coordinator")
      .option("--site <id>", "site id; must equal the certificate CN (agent.siteId)")
      .option("--coordinator <host:port>", "coordinator gRPC address")
      .option("--data <dir>", "the site's COCO folder (annotations.json + images/)")
      .option("--test-data <dir>", "the site's held-out test split (COCO folder): the site evaluates model versions on it and returns only COCO statistics (agent.testData)")
      .option("--domain <name>", "domain name of the site's data")
      .option("--task <name>", "task family, e.g. polyp")
      .option("--state-dir <dir>", "audit log, models, privacy state")
      .option("--backend <name>", "wasm | tensorflow | cpu")
      .option("--server-name <host>", "expected name in the coordinator certificate")
      .option("--max-tasks <n>", "exit after N tasks (0 = run until stopped)", numberOption("--max-tasks", true))
      .option("--bad-images <policy>", `images that do not decode (checked at start-up): ${BAD_IMAGE_POLICIES.join(" | ")}; skip trains without them and names them, refuse does not start (agent.badImages, default skip)`, choiceOption("--bad-images", BAD_IMAGE_POLICIES))
      .option("--keep-models <n>", "downloaded models kept besides those of open tasks, most recently used first (agent.keepModels, default 2)", numberOption("--keep-models", true, { min: 0 })),
  ).action(
    action(async (flags: AgentFlags, cmd: Command) => {
      const cfg = agentConfigFrom(cmd, flags);
      const log = commandLogger(cmd, `agent:${cfg.agent.siteId ?? "?"}`);
      const work = await createSiteWork(cfg.agent, log);
      const abort = new AbortController();
      onSignals(abort, log);
      const tty = Boolean(process.stderr.isTTY);
      const bar = tty ? new SingleBar({ format: "{task} [{bar}] {percentage}% | loss {loss} | {ips} img/s", hideCursor: true }) : null;
      let lastLog = 0;
      const res = await runAgent({
        config: cfg.agent,
        logger: log,
        work,
        signal: abort.signal,
        maxTasks: flags.maxTasks ?? 0,
        serverName: flags.serverName,
        onProgress: (task, p) => {
          const payload = { task: `step ${task.step}`, loss: p.loss?.toFixed(3) ?? "-", ips: p.imagesPerSec?.toFixed(1) ?? "-" };
          if (bar) {
            if (p.fraction === 0 || !bar.getTotal()) bar.start(100, 0, payload);
            bar.update(Math.round(p.fraction * 100), payload);
            if (p.fraction >= 1) bar.stop();
          } else if (Date.now() - lastLog > 5000 || p.fraction >= 1) {
            lastLog = Date.now();
            log.info({ step: task.step, progress: Number(p.fraction.toFixed(3)), loss: p.loss, imagesPerSec: p.imagesPerSec }, "training");
          }
        },
      });
      bar?.stop();
      log.info({ tasks: res.tasks }, "agent stopped");
    }),
  );
  withExamples(agent, [
    "medfcl agent --site hospital-a --coordinator fl.example.org:7443 --data /data/kvasir --tls-ca /certs/ca.crt --tls-cert /certs/site.crt --tls-key /certs/site.key",
    "MEDFCL_AGENT_SITE_ID=site-1 MEDFCL_AGENT_DATA=/data medfcl agent --insecure",
    "medfcl agent --site hospital-a --data /data/kvasir/train --test-data /data/kvasir/test --coordinator fl.example.org:7443 --tls-ca ...   # evaluates at the site",
    "medfcl agent health --state-dir /state",
  ]);
  withExamples(
    agent
      .command("health")
      .description("exit 0 when the agent's last heartbeat is recent (for container HEALTHCHECKs)")
      .option("--state-dir <dir>", "the agent's state dir (agent.stateDir)")
      .action(
        action((_flags: unknown, cmd: Command) => {
          // --state-dir is also an option of `agent` itself, so commander may file it there.
          const stateDir = (cmd.optsWithGlobals() as { stateDir?: string }).stateDir;
          const cfg = loadConfig({ file: globalOptions(cmd).config, env: process.env, overrides: clean({ agent: { stateDir } }) });
          const h = checkHealth(cfg.agent.stateDir);
          process.stdout.write(`${h.ok ? "healthy" : "unhealthy"}: ${h.reason}\n`);
          return h.ok ? ExitCode.Ok : ExitCode.Failure;
        }),
      ),
    ["medfcl agent health --state-dir /state"],
  );

  const evalWorker = addTlsFlags(
    program
      .command("eval-worker")
      .description("evaluate model versions for the coordinator: pulls jobs from its JetStream work queue, fetches each model over gRPC, returns COCO statistics")
      .requiredOption("--nats <url>", "the NATS server the coordinator uses (--nats of `medfcl coordinator`)")
      .requiredOption("--coordinator <host:port>", "coordinator gRPC address, for the model bytes (AdminService.PullModelVersion; under mTLS give --tls-cert/--tls-key of an evaluator certificate from `medfcl pki issue-evaluator`)")
      .option("--eval-set <domain=dir>", "a test set this worker holds, repeatable: the same folders as the coordinator's --eval-set (default: coordinator.evalSets from the config or MEDFCL_COORDINATOR_EVAL_SETS); a job for a domain it lacks goes to another worker", collect)
      .option("--name <name>", "names this worker in results and logs (default: host name and pid)")
      .option("--threads <n>", "onnxruntime intra-op threads", numberOption("--threads", true))
      .option("--alive-file <path>", "touch this file at least every 5 s while the worker runs, for a liveness probe that checks its age")
      .option("--server-name <host>", "expected name in the coordinator certificate"),
  ).action(
    action(async (flags: { nats: string; coordinator: string; evalSet?: string[]; name?: string; threads?: number; aliveFile?: string; serverName?: string; tlsCa?: string; tlsCert?: string; tlsKey?: string; insecure?: boolean }, cmd: Command) => {
      // Without --eval-set: the coordinator's own setting (config file or MEDFCL_COORDINATOR_EVAL_SETS), so one ConfigMap serves both.
      const sets = parseEvalSets(flags.evalSet) ?? loadConfig({ file: globalOptions(cmd).config, env: process.env, overrides: {} }).coordinator.evalSets;
      if (Object.keys(sets).length === 0) {
        throw new MedfclError(ErrorCode.InvalidArgument, "an eval worker needs the central test sets: give --eval-set DOMAIN=DIR (repeatable) or set MEDFCL_COORDINATOR_EVAL_SETS as for the coordinator", { details: { option: "--eval-set" } });
      }
      const name = flags.name ?? `${hostname()}-${process.pid}`;
      const log = commandLogger(cmd, `eval-worker:${name}`);
      const insecure = flags.insecure === true;
      const tls = insecure ? undefined : { ca: flags.tlsCa, cert: flags.tlsCert, key: flags.tlsKey };
      const admin = createAdminClient(flags.coordinator, { insecure, tls, serverName: flags.serverName });
      const models = detectorModelOps({ evalThreads: flags.threads });
      const nc = await connectEvalQueue(flags.nats, `medfcl-eval-worker-${name}`);
      const abort = new AbortController();
      onSignals(abort, log);
      try {
        const { jobs } = await runEvalWorker({
          nc,
          name,
          logger: log,
          hasDomain: (d) => d in sets,
          fetchModel: (version) => admin.pullModelVersion(version),
          evaluate: async (checkpoint, domain) => (await models.evaluate(checkpoint, [{ domain, dir: sets[domain] }]))[0],
          signal: abort.signal,
          onAlive: flags.aliveFile ? () => writeFileSync(flags.aliveFile!, new Date().toISOString()) : undefined,
        });
        log.info({ jobs }, "eval worker stopped");
      } finally {
        admin.close();
        await nc.drain().catch(() => nc.close());
      }
    }),
  );
  withExamples(evalWorker, [
    "medfcl eval-worker --insecure --nats nats://127.0.0.1:4222 --coordinator 127.0.0.1:7443 --eval-set kvasir=data/kvasir/test",
    "medfcl pki issue-evaluator --ca certs/ca --name eval-worker --out certs/eval-worker   # once, where the CA key is",
    "medfcl eval-worker --nats nats://nats:4222 --coordinator coordinator:7443 --tls-ca certs/eval-worker/ca.crt --tls-cert certs/eval-worker/evaluator.crt --tls-key certs/eval-worker/evaluator.key --eval-set kvasir=/data/kvasir/test --eval-set cvc=/data/cvc/test",
  ]);

  const runs = program.command("runs").description("create, watch and audit runs on a coordinator (AdminService; `watch` uses the dashboard's event stream)");
  const adminFlags = (c: Command): Command =>
    addTlsFlags(c.option("--coordinator <host:port>", "coordinator address", "127.0.0.1:7443").option("--server-name <host>", "expected name in the coordinator certificate"));
  const adminClient = (f: { coordinator: string; insecure?: boolean; tlsCa?: string; tlsCert?: string; tlsKey?: string; serverName?: string }) =>
    createAdminClient(f.coordinator, { insecure: Boolean(f.insecure), tls: { ca: f.tlsCa, cert: f.tlsCert, key: f.tlsKey }, serverName: f.serverName });
  withExamples(runs, ["medfcl runs create --name r1 --strategy rehearsal --site site-1 --site site-2 --insecure", "medfcl runs audit r1 --insecure"]);

  withExamples(
    adminFlags(
      runs
        .command("create")
        .description("start a run over registered sites (in domain order)")
        .requiredOption("--name <name>", "unique run name")
        .requiredOption("--strategy <name>", strategyNames().join(" | "))
        .requiredOption("--site <id>", "a site, in step order; repeatable", collect)
        .option("--option <k=v>", `strategy option, repeatable (${strategyNames().map((n) => `${n}: ${Object.keys(strategyInfo(n).options).join(", ") || "none"}`).join("; ")})`, collect)
        .option("--epochs <n>", `local epochs per step (the coordinator fills what is not given from the model family: ${defaultByModel("epochs")})`, numberOption("--epochs", true, { min: 1 }))
        .option("--lr <lr>", `learning rate (${defaultByModel("lr")}; the text encoder's by the family's ratio)`, numberOption("--lr", false, { above: 0 }))
        .option("--batch-size <n>", `batch size (${defaultByModel("batchSize")})`, numberOption("--batch-size", true, { min: 1 }))
        .option("--seed <n>", "run seed", numberOption("--seed", true, { min: 0 }), 1)
        .option("--weight-decay <wd>", "weight decay (default: the model family's)", numberOption("--weight-decay", false, { min: 0 }))
        .option("--freeze-stages <n>", `bottom image-encoder stages to freeze (${defaultByModel("freezeStages")})`, numberOption("--freeze-stages", true, { min: 0 }))
        .option("--grad-clip <norm>", "global-norm gradient clipping, 0 = off (default: the model family's)", numberOption("--grad-clip", false, { min: 0 }))
        .option("--delta-encoding <enc>", `encoding of the sites' deltas: ${DELTA_ENCODINGS.join(" | ")}`, choiceOption("--delta-encoding", DELTA_ENCODINGS), "fp32")
        .option("--dropout-policy <p>", "a site that misses its deadline, refuses or fails: skip (close the step without it) | fail (fail the run)", choiceOption("--dropout-policy", DROPOUT_POLICIES), "skip")
        .option(
          "--evaluation <where>",
          "where each model version is evaluated: central (the coordinator's --eval-set test sets) | sites (each site on its own --test-data split; only COCO statistics leave it) | both (they must agree exactly)",
          choiceOption("--evaluation", EVALUATION_PLACEMENTS),
          "central",
        )
        .option("--secure-aggregation", "aggregate each round with SecAgg+: the coordinator learns only the weighted sum of the sites' updates (rounds of ≥ 3 sites, fp32)")
        .option("--secure-aggregation-threshold <t>", "shares needed to rebuild a site's secret (default: a majority of its share holders)", numberOption("--secure-aggregation-threshold", true, { min: 2 }))
        .option("--model <name>", `${modelOptionHelp()} (default: the coordinator's registry's, ${DEFAULT_MODEL_FAMILY}; with --base-version, that version's family)`)
        .option("--base-version <sha256>", "start from this stored model version")
        .option("--wait", "wait for the run to finish and print its audit"),
    ).action(
      action(async (f: { name: string; strategy: string; site: string[]; option?: string[]; epochs?: number; lr?: number; batchSize?: number; seed: number; weightDecay?: number; freezeStages?: number; gradClip?: number; deltaEncoding: DeltaEncoding; dropoutPolicy: DropoutPolicy; evaluation: EvaluationPlacement; secureAggregation?: boolean; secureAggregationThreshold?: number; model?: string; baseVersion?: string; wait?: boolean; coordinator: string }) => {
        const options = Object.fromEntries(
          (f.option ?? []).map((kv) => {
            const i = kv.indexOf("=");
            if (i <= 0) throw new MedfclError(ErrorCode.InvalidArgument, `--option expects KEY=VALUE, got "${kv}"`, { details: { option: "--option" } });
            return [kv.slice(0, i), kv.slice(i + 1)];
          }),
        );
        const client = adminClient(f);
        try {
          // Only what was given: the coordinator fills every other hyper-parameter with its documented default.
          const run = await client.createRun({
            name: f.name,
            strategy: f.strategy,
            sites: f.site,
            options,
            seed: f.seed,
            model: f.model ?? "",
            base_version: f.baseVersion ?? "",
            delta_encoding: deltaEncodingWire.toWire(f.deltaEncoding),
            dropout_policy: dropoutPolicyWire.toWire(f.dropoutPolicy),
            evaluation: evaluationPlacementWire.toWire(f.evaluation),
            secure_aggregation: f.secureAggregation === true,
            secure_aggregation_threshold: f.secureAggregationThreshold ?? 0,
            hyperparameters: { epochs: f.epochs, lr: f.lr, batch_size: f.batchSize, seed: f.seed, weight_decay: f.weightDecay, freeze_stages: f.freezeStages, grad_clip: f.gradClip },
          }).catch(usageOnInvalidArgument);
          process.stdout.write(`${run.run_id} ${run.state}\n`);
          if (f.wait) {
            // A coordinator restart mid-run is waited out: the run resumes there, and so does the wait.
            const onRetry = (err: unknown, ms: number): void => void process.stderr.write(`medfcl: the coordinator at ${f.coordinator} is not answering (${(err as Error).message}); trying again in ${(ms / 1000).toFixed(1)} s\n`);
            const done = await client.waitForRun(run.run_id, { onRetry });
            const audit = await retryTransient(() => client.getAudit(done.run_id), { onRetry });
            process.stdout.write(`${JSON.stringify(audit, null, 2)}\n`);
            return done.state === "completed" ? ExitCode.Ok : ExitCode.Failure;
          }
        } finally {
          client.close();
        }
      }),
    ),
    [
      "medfcl runs create --name seq1 --strategy sequential --site a --site b --epochs 2 --insecure --wait",
      "medfcl runs create --name r16 --strategy rehearsal --site a --site b --delta-encoding fp16 --insecure",
      "medfcl runs create --name cross1 --strategy sequential --site a --site b --evaluation sites --insecure   # the sites evaluate on their own test splits",
      "medfcl runs create --name sa1 --strategy joint --site a --site b --site c --site d --site e --secure-aggregation --secure-aggregation-threshold 3 --insecure",
    ],
  );

  withExamples(
    adminFlags(runs.command("list").description("list runs")).action(
      action(async (f: { coordinator: string }) => {
        const client = adminClient(f);
        try {
          for (const r of (await client.listRuns(500)).runs) process.stdout.write(`${r.run_id}  ${r.name.padEnd(24)} ${r.strategy.padEnd(12)} ${r.state.padEnd(10)} steps ${r.steps.length}\n`);
        } finally {
          client.close();
        }
      }),
    ),
    ["medfcl runs list --insecure"],
  );

  withExamples(
    adminFlags(runs.command("show").argument("<run>", "run id or name").description("show a run's steps")).action(
      action(async (run: string, f: { coordinator: string }) => {
        const client = adminClient(f);
        try {
          process.stdout.write(`${JSON.stringify(await client.getRun(run), null, 2)}\n`);
        } finally {
          client.close();
        }
      }),
    ),
    ["medfcl runs show seq1 --insecure"],
  );

  withExamples(
    runs
      .command("watch")
      .argument("<run>", "run id or name")
      .description("follow a run live in the terminal: run progress, a progress bar per site, R as it fills (the dashboard's event stream)")
      .option("--http <host:port>", "the coordinator's HTTP address (coordinator.httpListen)", "127.0.0.1:8080")
      .option("--token-file <file>", "file holding the dashboard token (default: MEDFCL_COORDINATOR_DASHBOARD_TOKEN)")
      .option("--once", "print the current state once and exit")
      .action(
        action(async (run: string, f: { http: string; tokenFile?: string; once?: boolean }) => {
          const token = f.tokenFile ? readFileSync(f.tokenFile, "utf8").trim() : process.env.MEDFCL_COORDINATOR_DASHBOARD_TOKEN;
          if (!token) throw new MedfclError(ErrorCode.InvalidArgument, "no dashboard token: set MEDFCL_COORDINATOR_DASHBOARD_TOKEN or pass --token-file", { details: { option: "--token-file" } });
          const abort = new AbortController();
          process.once("SIGINT", () => abort.abort());
          const tty = Boolean(process.stdout.isTTY) && !f.once;
          let last = 0;
          let pending: string | null = null;
          // On a terminal, redraw in place at most 5 times a second; otherwise print each frame.
          const render = (frame: string): void => {
            if (!tty) return void process.stdout.write(`${frame}\n\n`);
            pending = frame;
            if (Date.now() - last < 200) return;
            last = Date.now();
            process.stdout.write(`\x1b[H\x1b[2J${pending}\n`);
            pending = null;
          };
          const state = await watchRun({ http: f.http, token, run, render, once: f.once, signal: abort.signal, onRetry: (line) => process.stderr.write(`medfcl: ${line}\n`) });
          if (tty && pending) process.stdout.write(`\x1b[H\x1b[2J${pending}\n`);
          return state === "completed" || (f.once && state !== "failed") ? ExitCode.Ok : ExitCode.Failure;
        }),
      ),
    ["MEDFCL_COORDINATOR_DASHBOARD_TOKEN=... medfcl runs watch polyp-r1 --http 127.0.0.1:8080", "medfcl runs watch polyp-r1 --token-file /run/secrets/dashboard-token --once"],
  );

  withExamples(
    adminFlags(runs.command("audit").argument("<run>", "run id or name").description("print the forgetting audit: R, ACC/BWT/FWT, lineage")).action(
      action(async (run: string, f: { coordinator: string }) => {
        const client = adminClient(f);
        try {
          process.stdout.write(`${JSON.stringify(await client.getAudit(run), null, 2)}\n`);
        } finally {
          client.close();
        }
      }),
    ),
    ["medfcl runs audit seq1 --insecure"],
  );
}
