import { type Command } from "commander";
import { join } from "node:path";
import { ErrorCode, MedfclError } from "../../services/errors/index.js";
import { strategyNames } from "../../coordinator/strategies/index.js";
import { defaultSimulateOptions, simulate } from "../simulate.js";
import { DELTA_ENCODINGS, modelFamily, type DeltaEncoding } from "../../services/model/index.js";
import { action, choiceOption, commaList, commandLogger, defaultByModel, modelFamilyOption, modelOptionHelp, numberOption, withExamples } from "../context.js";
import { EVALUATION_PLACEMENTS, type EvaluationPlacement } from "../../services/transport/index.js";
import { SYNTH_GENERATOR_VERSION, SYNTH_GENERATOR_VERSIONS, parseGeneratorVersion } from "../../services/data/index.js";

export function registerSimulate(program: Command): void {
  const d = defaultSimulateOptions();
  const cmd = program
    .command("simulate")
    .description("a coordinator and one agent process per site on loopback (mTLS, NATS if installed), a continual run on the synthetic suite, and the audit report")
    .option("--suite <name>", "polyp | tasks", d.suite)
    .option("--sites <n>", "number of sites (one training domain each, in suite order)", numberOption("--sites", true), d.sites)
    .option("--strategy <name>", strategyNames().join(" | "), d.strategy)
    .option("--compare <names>", "comma-separated strategies to run after it on the same sites, e.g. sequential", "")
    .option("--buffer <n>", "replay buffer size (strategies with a buffer option)", numberOption("--buffer", true), d.buffer)
    .option("--sampler <name>", "replay sampler: random | reservoir | class-balanced", d.sampler)
    .option("--mix <ratio>", "fraction of each batch drawn from the replay buffer", numberOption("--mix"), d.mix)
    .option("--seed <n>", "seed for data, initialisation and sampling", numberOption("--seed", true), d.seed)
    .option("--scale <name>", "tiny | small | full", d.scale)
    .option("--generator <version>", `the synthetic suite's generator version: ${SYNTH_GENERATOR_VERSIONS.join(" | ")} (default ${SYNTH_GENERATOR_VERSION})`, numberOption("--generator", true))
    .option("--model <name>", modelOptionHelp(), modelFamilyOption("--model"), d.model)
    .option("--base-weights <file>", "weights of a pretrained --model (default: $MEDFCL_BASE_WEIGHTS, else the cache)")
    .option("--input-size <px>", "input side in pixels, a multiple of 32 (default: the model's)", numberOption("--input-size", true))
    .option("--epochs <n>", `local epochs per step (${defaultByModel("epochs")})`, numberOption("--epochs", true))
    .option("--lr <lr>", `learning rate (${defaultByModel("lr")})`, numberOption("--lr"))
    .option("--batch-size <n>", `batch size (${defaultByModel("batchSize")})`, numberOption("--batch-size", true))
    .option("--delta-encoding <enc>", `encoding of the sites' deltas: ${DELTA_ENCODINGS.join(" | ")}`, choiceOption("--delta-encoding", DELTA_ENCODINGS), "fp32")
    .option("--evaluation <where>", "central (the coordinator holds every test split) | sites (each agent evaluates on its own domain's test split; the coordinator holds none) | both", choiceOption("--evaluation", EVALUATION_PLACEMENTS), "central")
    .option("--secure-aggregation", "aggregate with SecAgg+ (strategies whose rounds have ≥ 3 sites, e.g. joint)")
    .option("--max-steps <n>", "cap local optimiser steps per task (0 = epochs decide)", numberOption("--max-steps", true), d.maxSteps)
    .option("--data-root <dir>", "suite folder (suite.json); synthesized there when missing")
    .option("--insecure", "plaintext gRPC instead of mTLS with dev certificates")
    .option("--out <dir>", "run folder for logs, state, R.json and the report", "runs/demo");
  withExamples(cmd, [
    "medfcl simulate --suite polyp --sites 5 --strategy rehearsal --buffer 100 --seed 1 --scale small --out runs/demo",
    "medfcl simulate --strategy sequential --compare rehearsal --scale tiny --out runs/cmp",
    "medfcl simulate --strategy sequential --evaluation sites --scale tiny --out runs/at-sites",
    "medfcl simulate --model yolox-nano --base-weights ../shared/weights/yolox-nano/yolox_nano.onnx --input-size 128 --out runs/pretrained",
  ]);
  cmd.action(
    action(async (f: { suite: string; sites: number; strategy: string; compare: string; buffer: number; sampler: string; mix: number; seed: number; scale: string; generator?: number; epochs?: number; lr?: number; batchSize?: number; maxSteps: number; deltaEncoding: DeltaEncoding; evaluation: EvaluationPlacement; secureAggregation?: boolean; model: string; baseWeights?: string; inputSize?: number; dataRoot?: string; insecure?: boolean; out: string }, c: Command) => {
      if (!["polyp", "tasks"].includes(f.suite)) throw new MedfclError(ErrorCode.InvalidArgument, `--suite must be polyp or tasks, got "${f.suite}"`, { details: { option: "--suite" } });
      if (!["tiny", "small", "full"].includes(f.scale)) throw new MedfclError(ErrorCode.InvalidArgument, `--scale must be tiny, small or full, got "${f.scale}"`, { details: { option: "--scale" } });
      if (f.generator !== undefined) parseGeneratorVersion(f.generator);
      const logger = commandLogger(c, "simulate");
      const started = Date.now();
      const t = modelFamily(f.model).training;
      const res = await simulate({
        ...f,
        epochs: f.epochs ?? t.epochs,
        lr: f.lr ?? t.lr,
        batchSize: f.batchSize ?? t.batchSize,
        suite: f.suite as "polyp" | "tasks",
        scale: f.scale as "tiny" | "small" | "full",
        compare: f.compare ? commaList(f.compare) : [],
        insecure: Boolean(f.insecure),
        logger,
      });
      process.stdout.write(`\nsimulation finished in ${Math.round((Date.now() - started) / 1000)} s\nreport: ${join(res.reportDir, "report.html")}\n`);
    }),
  );
}
