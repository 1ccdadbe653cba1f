import { type Command } from "commander";
import { join } from "node:path";
import { defaultExperimentOptions, runExperiment, type ExperimentKind } from "../../experiments/index.js";
import { trainingDefaults } from "../simulate.js";
import { action, commaList, commandLogger, numberOption, withExamples } from "../context.js";

interface ExperimentFlags {
  suite?: string;
  out: string;
  scale: string;
  seed: number;
  repeat: number;
  dataRoot?: string;
  epochs: number;
  maxSteps: number;
  lr?: number;
  batchSize?: number;
  model: string;
  baseWeights?: string;
  inputSize?: number;
  shots: number;
  buffer: number;
  mix: number;
  beyond: boolean;
  only?: string;
  insecure?: boolean;
}

const DESCRIPTIONS: Record<ExperimentKind, string> = {
  "cross-domain": "one specialized model per training domain, evaluated on every domain (paper Table 1, Fig. 3a)",
  "cross-task": "one specialized model per task, evaluated on every task (paper Table 2, Fig. 3b)",
  paradigms: "zero-shot, specialized, joint, joint few-shot, sequential and rehearsal, plus the open questions (paper Tables 3/4, Fig. 5)",
};

function addKind(group: Command, kind: ExperimentKind, defaultSuite: "polyp" | "tasks"): void {
  const d = defaultExperimentOptions();
  const cmd = group
    .command(kind)
    .description(DESCRIPTIONS[kind])
    .option("--suite <name>", "polyp | tasks", defaultSuite)
    .option("--out <dir>", "experiment folder: tables (JSON, CSV, Markdown), figures, results.md, per-seed runs", `runs/${kind}`)
    .option("--scale <name>", "tiny (tests) | small | full", d.scale)
    .option("--seed <n>", "first seed (data, initialisation, sampling)", numberOption("--seed", true), d.seed)
    .option("--repeat <n>", "run N seeds (seed, seed+1, …) and report mean ± std", numberOption("--repeat", true), d.repeat)
    .option("--data-root <dir>", "a suite.json folder of real data (COCO per domain) instead of the synthetic suite")
    .option("--epochs <n>", "local epochs per step (joint: one round per epoch)", numberOption("--epochs", true), d.epochs)
    .option("--max-steps <n>", "cap local optimiser steps per task (0 = epochs decide)", numberOption("--max-steps", true), d.maxSteps)
    .option("--model <name>", "nano | small (random init) or yolox-nano (COCO-pretrained; `medfcl model fetch yolox-nano` first)", d.model)
    .option("--base-weights <file>", "weights of a pretrained --model (default: $MEDFCL_BASE_WEIGHTS, else the cache)")
    .option("--input-size <px>", "input side in pixels, a multiple of 32 (default: the model's)", numberOption("--input-size", true))
    .option("--lr <lr>", "learning rate (default by model: 2e-3 from scratch, 1e-4 for a pretrained base)", numberOption("--lr"))
    .option("--batch-size <n>", "batch size (default by model: 8 from scratch, 4 for a pretrained base)", numberOption("--batch-size", true))
    .option("--shots <n>", "joint few-shot: images per site", numberOption("--shots", true), d.shots)
    .option("--buffer <n>", "rehearsal replay buffer size", numberOption("--buffer", true), d.buffer)
    .option("--mix <ratio>", "rehearsal: fraction of each batch from the replay buffer", numberOption("--mix"), d.mix)
    .option("--no-beyond", "paradigms: skip the runs beyond the paper (replay samplers, k-center few-shot, joint and specialized given sequential's budget)")
    .option("--only <labels>", "run only these paradigms, comma-separated (e.g. specialized,joint-central,sequential,rehearsal); zero-shot is always reported")
    .option("--insecure", "plaintext gRPC instead of mTLS with dev certificates");
  withExamples(cmd, [
    `medfcl experiment ${kind} --suite ${defaultSuite} --scale small --out runs/${kind}`,
    `medfcl experiment ${kind} --suite ${defaultSuite} --scale small --repeat 3 --out runs/${kind}-3seeds`,
    `medfcl experiment ${kind} --data-root /data/medical-suite --out runs/${kind}-real`,
    ...(kind === "paradigms" ? [`medfcl experiment paradigms --data-root runs/real/polyp --only specialized,joint-central,sequential,rehearsal --repeat 3`] : []),
  ]);
  cmd.action(
    action(async (f: ExperimentFlags, c: Command) => {
      const logger = commandLogger(c, "experiment");
      const res = await runExperiment({
        ...defaultExperimentOptions(),
        kind,
        suite: (f.suite ?? defaultSuite) as "polyp" | "tasks",
        out: f.out,
        scale: f.scale as "tiny" | "small" | "full",
        seed: f.seed,
        repeat: f.repeat,
        dataRoot: f.dataRoot,
        epochs: f.epochs,
        maxSteps: f.maxSteps,
        lr: f.lr ?? trainingDefaults(f.model).lr,
        batchSize: f.batchSize ?? trainingDefaults(f.model).batchSize,
        model: f.model,
        baseWeights: f.baseWeights,
        inputSize: f.inputSize,
        shots: f.shots,
        buffer: f.buffer,
        mix: f.mix,
        beyond: f.beyond,
        only: f.only === undefined ? undefined : commaList(f.only),
        insecure: Boolean(f.insecure),
        logger,
      });
      process.stdout.write(`\nexperiment ${kind} finished in ${Math.round(res.wallSeconds)} s (seeds ${res.seeds.join(", ")})\nresults: ${join(f.out, "results.md")}\nreport: ${join(f.out, "report", "report.html")}\n`);
    }),
  );
}

export function registerExperiment(program: Command): void {
  const group = program.command("experiment").description("reproduce the paper's tables through the coordinator and agents (cross-domain, cross-task, paradigms)");
  withExamples(group, ["medfcl experiment paradigms --suite polyp --scale small --out runs/paradigms", "medfcl experiment cross-task --suite tasks --scale small --out runs/cross-task"]);
  addKind(group, "cross-domain", "polyp");
  addKind(group, "cross-task", "tasks");
  addKind(group, "paradigms", "polyp");
}
