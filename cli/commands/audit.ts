import { type Command } from "commander";
import {
  continualMetrics,
  formatMetricsTable,
  parseAccuracyMatrix,
  parseBaseAp,
  readJsonFile,
  writeAuditReport,
} from "../../services/eval/index.js";
import { action, withExamples } from "../context.js";

interface MetricsOptions {
  matrix: string;
  base?: string;
  json?: boolean;
}

interface ReportOptions {
  run: string;
  out?: string;
}

export function registerAudit(program: Command): void {
  const audit = program.command("audit").description("forgetting audit: continual-learning metrics and the report of a run");
  withExamples(audit, ["medfcl audit metrics --matrix R.json --base base.json --json", "medfcl audit report --run runs/polyp-rehearsal"]);

  withExamples(
    audit
      .command("metrics")
      .description("ACC, BWT, FWT (with --base), forgetting and per-step average AP from an accuracy matrix R")
      .requiredOption("--matrix <file>", 'R.json: {"steps": [...], "domains": [...], "ap": [[AP %, or null]]}')
      .option("--base <file>", 'base model APs: {"<domain>": ap}; needed for FWT')
      .option("--json", "print {acc, bwt, fwt, forgetting: {per_domain, mean}, avg_ap_per_step}")
      .action(
        action(async (opts: MetricsOptions) => {
          const R = parseAccuracyMatrix(await readJsonFile(opts.matrix), opts.matrix);
          const base = opts.base ? parseBaseAp(await readJsonFile(opts.base), opts.base) : undefined;
          const m = continualMetrics(R, base);
          if (opts.json) process.stdout.write(`${JSON.stringify(m)}\n`);
          else process.stdout.write(`${formatMetricsTable(R, m)}\n`);
        }),
      ),
    ["medfcl audit metrics --matrix runs/seq/R.json", "medfcl audit metrics --matrix R.json --base base.json --json"],
  );

  withExamples(
    audit
      .command("report")
      .description("write report.md, report.html, R.json, R.csv, metrics.json and SVG/PNG figures for a run directory")
      .requiredOption("--run <dir>", "run directory (R.json, base.json, run.json, <paradigm>/R.json, paradigms.json, cross-*/matrix.json)")
      .option("--out <dir>", "output directory (default <run>/report)")
      .action(
        action(async (opts: ReportOptions) => {
          const { files } = await writeAuditReport(opts.run, opts.out);
          for (const f of files) process.stdout.write(`${f}\n`);
        }),
      ),
    ["medfcl audit report --run runs/polyp-rehearsal", "medfcl audit report --run runs/paper --out /tmp/report"],
  );
}
