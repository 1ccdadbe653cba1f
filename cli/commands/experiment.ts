import { type Command } from "commander";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { convergenceEpoch, defaultEpochRule, defaultExperimentOptions, measureSeparability, readCurve, runExperiment, SEPARABILITY_VIEWS, separabilityAgainstTransfer, suiteOfDataRoot, transferCorrelation, type ExperimentKind } from "../../experiments/index.js";
import { lineChartSvg, parseCrossMatrix } from "../../services/eval/index.js";
import { writeFileAtomic } from "../../services/store/index.js";
import { modelFamily } from "../../services/model/index.js";
import { SYNTH_GENERATOR_VERSION, SYNTH_GENERATOR_VERSIONS } from "../../services/data/index.js";
import { action, commaList, commandLogger, defaultByModel, modelFamilyOption, modelOptionHelp, numberOption, withExamples } from "../context.js";

interface ExperimentFlags {
  suite?: string;
  out: string;
  scale: string;
  seed: number;
  repeat: number;
  dataRoot?: string;
  generator?: number;
  epochs?: number;
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
  sequence?: string;
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
    .option("--suite <name>", `polyp | tasks (default: ${defaultSuite}; with --data-root, the one its suite.json names)`)
    .option("--out <dir>", "experiment folder: tables (JSON, CSV, Markdown), figures, results.md, per-seed runs", `runs/${kind}`)
    .option("--scale <name>", "tiny (tests) | small | full", d.scale)
    .option("--seed <n>", "first seed (data, initialisation, sampling)", numberOption("--seed", true), d.seed)
    .option("--repeat <n>", "run N seeds (seed, seed+1, …) and report mean ± std", numberOption("--repeat", true), d.repeat)
    .option("--data-root <dir>", "a suite.json folder of real data (COCO per domain) instead of the synthetic suite")
    .option("--generator <version>", `the synthetic suite's generator version: ${SYNTH_GENERATOR_VERSIONS.join(" | ")} (default ${SYNTH_GENERATOR_VERSION})`, numberOption("--generator", true))
    .option("--epochs <n>", `local epochs per step (joint: one round per epoch; ${defaultByModel("epochs")})`, numberOption("--epochs", true))
    .option("--max-steps <n>", "cap local optimiser steps per task (0 = epochs decide)", numberOption("--max-steps", true), d.maxSteps)
    .option("--model <name>", modelOptionHelp(), modelFamilyOption("--model"), d.model)
    .option("--base-weights <file>", "weights of a pretrained --model (default: $MEDFCL_BASE_WEIGHTS, else the cache)")
    .option("--input-size <px>", "input side in pixels, a multiple of 32 (default: the model's)", numberOption("--input-size", true))
    .option("--lr <lr>", `learning rate (${defaultByModel("lr")})`, numberOption("--lr"))
    .option("--batch-size <n>", `batch size (${defaultByModel("batchSize")})`, numberOption("--batch-size", true))
    .option("--shots <n>", "joint few-shot: images per site", numberOption("--shots", true), d.shots)
    .option("--buffer <n>", "rehearsal replay buffer size", numberOption("--buffer", true), d.buffer)
    .option("--mix <ratio>", "rehearsal: fraction of each batch from the replay buffer", numberOption("--mix"), d.mix)
    .option("--no-beyond", "paradigms: skip the runs beyond the paper (replay samplers, k-center few-shot, joint and specialized given sequential's budget)")
    .option("--only <labels>", "run only these paradigms, comma-separated (e.g. specialized,joint-central,sequential,rehearsal); zero-shot is always reported")
    .option("--sequence <domains>", "with --data-root: train these domains in this order, comma-separated (e.g. kvasir,fuseg,busi,tbx11k); the suite's other domains are evaluated as test-only")
    .option("--insecure", "plaintext gRPC instead of mTLS with dev certificates");
  withExamples(cmd, [
    `medfcl experiment ${kind} --suite ${defaultSuite} --scale small --out runs/${kind}`,
    `medfcl experiment ${kind} --suite ${defaultSuite} --scale small --repeat 3 --out runs/${kind}-3seeds`,
    `medfcl experiment ${kind} --data-root /data/medical-suite --out runs/${kind}-real`,
    ...(kind === "paradigms" ? [`medfcl experiment paradigms --data-root runs/real/polyp --only specialized,joint-central,sequential,rehearsal --repeat 3`] : []),
    ...(kind === "paradigms" ? [`medfcl experiment paradigms --data-root runs/real/tasks --sequence kvasir,fuseg,busi,tbx11k --no-beyond --repeat 3`] : []),
  ]);
  cmd.action(
    action(async (f: ExperimentFlags, c: Command) => {
      const logger = commandLogger(c, "experiment");
      const res = await runExperiment({
        ...defaultExperimentOptions(),
        kind,
        suite: (f.suite ?? (f.dataRoot !== undefined ? suiteOfDataRoot(f.dataRoot) : undefined) ?? defaultSuite) as "polyp" | "tasks",
        out: f.out,
        scale: f.scale as "tiny" | "small" | "full",
        seed: f.seed,
        repeat: f.repeat,
        dataRoot: f.dataRoot,
        generator: f.generator,
        epochs: f.epochs ?? modelFamily(f.model).training.epochs,
        maxSteps: f.maxSteps,
        lr: f.lr ?? modelFamily(f.model).training.lr,
        batchSize: f.batchSize ?? modelFamily(f.model).training.batchSize,
        model: f.model,
        baseWeights: f.baseWeights,
        inputSize: f.inputSize,
        shots: f.shots,
        buffer: f.buffer,
        mix: f.mix,
        beyond: f.beyond,
        only: f.only === undefined ? undefined : commaList(f.only),
        sequence: f.sequence === undefined ? undefined : commaList(f.sequence),
        insecure: Boolean(f.insecure),
        logger,
      });
      process.stdout.write(`\nexperiment ${kind} finished in ${Math.round(res.wallSeconds)} s (seeds ${res.seeds.join(", ")})\nresults: ${join(f.out, "results.md")}\nreport: ${join(f.out, "report", "report.html")}\n`);
    }),
  );
}

function addEpochs(group: Command): void {
  const rule = defaultEpochRule();
  const cmd = group
    .command("epochs")
    .argument("<curves...>", "learning curves as name=FILE (from `medfcl train --eval-data VAL --curve FILE`)")
    .option("--window <n>", "epochs in the centred moving average", numberOption("--window", true), rule.window)
    .option("--min-gain <ap>", "converged at the first epoch whose smoothed AP is within this of the curve's best smoothed AP", numberOption("--min-gain"), rule.minGain)
    .option("--svg <file>", "also draw the curves (each epoch's AP dashed, the smoothed AP solid)")
    .description("the epoch rule: where each domain's held-out AP stops rising, and the epochs an experiment trains (the largest)");
  withExamples(cmd, ["medfcl experiment epochs kvasir=curves/kvasir.json bkai=curves/bkai.json", "medfcl experiment epochs kvasir=curves/kvasir.json --window 3 --min-gain 2"]);
  cmd.action(
    action(async (curves: string[], f: { window: number; minGain: number; svg?: string }) => {
      const rows: string[] = [];
      const series: { name: string; values: (number | null)[]; dashed?: boolean; colorOf?: number }[] = [];
      let epochs = 0;
      for (const arg of curves) {
        const eq = arg.indexOf("=");
        const [name, file] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, arg];
        const curve = readCurve(file);
        const c = convergenceEpoch(curve, { window: f.window, minGain: f.minGain });
        epochs = Math.max(epochs, c.epoch);
        const best = Math.max(...curve.map((p) => p.ap));
        series.push({ name: `${name}: smoothed (converged at ${c.epoch})`, values: c.smoothed, colorOf: series.length }, { name: `${name}: per epoch`, values: curve.map((p) => p.ap), dashed: true, colorOf: series.length });
        rows.push(`| ${name} | ${curve.length} | ${c.epoch}${c.converged ? "" : " (may still be rising: the best smoothed AP is at the curve's end)"} | ${(c.smoothed[c.epoch - 1] ?? Number.NaN).toFixed(1)} | ${c.best.toFixed(1)} (epoch ${c.bestEpoch}) | ${best.toFixed(1)} |`);
      }
      process.stdout.write(
        [`| domain | epochs measured | converged at | smoothed AP there | best smoothed AP | best single-epoch AP |`, "|---|---:|---:|---:|---:|---:|", ...rows, "", `epochs for every training job (the largest): ${epochs}`, ""].join("\n"),
      );
      if (f.svg) {
        const n = Math.max(...series.map((x) => x.values.length));
        const svg = lineChartSvg({ title: "Held-out AP per epoch, and its moving average (the epoch rule)", xLabels: Array.from({ length: n }, (_, i) => String(i + 1)), series, xLabel: "epoch", yLabel: "validation AP (%)" });
        await writeFileAtomic(f.svg, svg);
      }
    }),
  );
}

const readCrossMatrix = (path: string) => parseCrossMatrix(JSON.parse(readFileSync(path, "utf8")), path);

/** `--map a=b,c=d`: domain names of one suite as another names them. */
const domainMap = (pairs: string): Record<string, string> => Object.fromEntries(commaList(pairs).map((pair) => pair.split("=").map((s) => s.trim()) as [string, string]));

function addCorrelate(group: Command): void {
  const cmd = group
    .command("correlate")
    .argument("<a>", "a cross matrix (matrix.json of cross-domain/ or cross-task/)")
    .argument("<b>", "another cross matrix")
    .option("--map <pairs>", "domain names of <a> as named in <b>, comma-separated a=b (e.g. sessile=kvasir-sessile)", "")
    .description("Spearman's rank correlation of two suites' off-diagonal transfer (e.g. the synthetic polyp suite against the real one)");
  withExamples(cmd, ["medfcl experiment correlate docs/results/synthetic-polyp/cross-domain/matrix.json docs/results/real-polyp/cross-domain/matrix.json --map sessile=kvasir-sessile"]);
  cmd.action(
    action(async (a: string, b: string, f: { map: string }) => {
      const r = transferCorrelation(readCrossMatrix(a), readCrossMatrix(b), domainMap(f.map));
      process.stdout.write(
        [`| train → test | ${a} | ${b} |`, "|---|---:|---:|", ...r.cells.map((c) => `| ${c.train} → ${c.test} | ${c.a.toFixed(1)} | ${c.b.toFixed(1)} |`), "", `Spearman rank correlation over ${r.cells.length} off-diagonal cells: ${r.rho.toFixed(3)}`, ""].join("\n"),
      );
    }),
  );
}

function addSeparability(group: Command): void {
  const cmd = group
    .command("separability")
    .requiredOption("--data-root <dir>", "a suite.json folder (real, or a synthetic suite from `medfcl data synth`)")
    .option("--domains <names>", "domains to compare, comma-separated (default: all of the suite's)")
    .option("--per-domain <n>", "images per domain (of those with a box), drawn with --seed", numberOption("--per-domain", true), 80)
    .option("--seed <n>", "seed of the image draw", numberOption("--seed", true), 1)
    .option("--model <name>", modelOptionHelp(), modelFamilyOption("--model"), defaultExperimentOptions().model)
    .option("--base-weights <file>", "weights of a pretrained --model (default: $MEDFCL_BASE_WEIGHTS, else the cache)")
    .option("--input-size <px>", "input side in pixels, a multiple of 32 (default: the model's)", numberOption("--input-size", true))
    .option("--matrix <file>", "a cross-domain matrix.json of the same domains: rank each view's distances against its transfer cells")
    .option("--map <pairs>", "with --matrix: this suite's domain names as the matrix names them, comma-separated a=b", "")
    .option("--json <file>", "write the measurement as JSON")
    .description("what tells the domains apart to the pretrained detector: the whole frame, the background with the lesions blanked, or the lesions alone");
  withExamples(cmd, [
    "medfcl experiment separability --data-root R/polyp --domains kvasir,kvasir-sessile,bkai,colondb --matrix docs/results/real-polyp/cross-domain/matrix.json",
    "medfcl experiment separability --data-root synth/polyp --domains kvasir,sessile,bkai,colondb --matrix runs/v3/cross-domain/matrix.json --json sep.json",
  ]);
  cmd.action(
    action(async (f: { dataRoot: string; domains?: string; perDomain: number; seed: number; model: string; baseWeights?: string; inputSize?: number; matrix?: string; map: string; json?: string }, c: Command) => {
      const logger = commandLogger(c, "experiment");
      const r = await measureSeparability({ dataRoot: f.dataRoot, domains: f.domains === undefined ? undefined : commaList(f.domains), perDomain: f.perDomain, seed: f.seed, model: f.model, baseWeights: f.baseWeights, inputSize: f.inputSize, logger });
      const names = r.domains.map((d) => d.name);
      const lines = [`${r.model} at ${r.inputSize} px, seed ${r.seed}; ${r.domains.map((d) => `${d.name} ${d.images} (${d.split})`).join(", ")}`, ""];
      lines.push(`| pair | ${SEPARABILITY_VIEWS.map((v) => `${v}: distance`).join(" | ")} | ${SEPARABILITY_VIEWS.map((v) => `${v}: LOO accuracy %`).join(" | ")} |`, `|---|${"---:|".repeat(2 * SEPARABILITY_VIEWS.length)}`);
      for (let i = 0; i < names.length; i++) {
        for (let j = i + 1; j < names.length; j++) {
          const m = SEPARABILITY_VIEWS.map((v) => r.views[v][i][j]!);
          lines.push(`| ${names[i]} ↔ ${names[j]} | ${m.map((x) => (Number.isFinite(x.distance) ? x.distance.toFixed(2) : "∞")).join(" | ")} | ${m.map((x) => x.accuracy.toFixed(1)).join(" | ")} |`);
        }
      }
      if (f.matrix) {
        lines.push("", `Spearman's ρ of each view's distance against the transfer AP of ${f.matrix} (negative: farther domains transfer worse):`, "");
        for (const c of separabilityAgainstTransfer(r, readCrossMatrix(f.matrix), domainMap(f.map))) lines.push(`- ${c.view}: ρ = ${c.rho.toFixed(3)} over ${c.cells} cells`);
      }
      process.stdout.write(`${lines.join("\n")}\n`);
      if (f.json) await writeFileAtomic(f.json, `${JSON.stringify(r, null, 2)}\n`);
    }),
  );
}

export function registerExperiment(program: Command): void {
  const group = program.command("experiment").description("reproduce the paper's tables through the coordinator and agents (cross-domain, cross-task, paradigms)");
  withExamples(group, ["medfcl experiment paradigms --suite polyp --scale small --out runs/paradigms", "medfcl experiment cross-task --suite tasks --scale small --out runs/cross-task"]);
  addKind(group, "cross-domain", "polyp");
  addKind(group, "cross-task", "tasks");
  addKind(group, "paradigms", "polyp");
  addEpochs(group);
  addCorrelate(group);
  addSeparability(group);
}
