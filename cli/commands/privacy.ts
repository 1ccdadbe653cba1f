import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Command } from "commander";
import { loadConfig } from "../../services/config/index.js";
import { writeFileAtomic } from "../../services/store/index.js";
import {
  checkExemplarFiles,
  computeEpsilon,
  DEFAULT_DICOM_BUDGET,
  parseExemplarPipelineOptions,
  runDicomJob,
  PrivacyArgumentError,
  verifyAuditLog,
} from "../../services/privacy/index.js";
import { action, ExitCode, globalOptions, numberOption, withExamples } from "../context.js";

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new PrivacyArgumentError(`${what} ${path} is not readable JSON: ${err instanceof Error ? err.message : String(err)}`, { details: { file: path } });
  }
}

function secretFrom(file: string | undefined, configured: string | undefined): { secret: string; ephemeral: boolean } {
  if (file) return { secret: readFileSync(file, "utf8").trim(), ephemeral: false };
  if (configured) return { secret: configured, ephemeral: false };
  return { secret: randomBytes(24).toString("hex"), ephemeral: true };
}

export function registerPrivacy(program: Command): void {
  const privacy = program.command("privacy").description("see what would leave this site, check the audit log, de-identify DICOM, compute DP ε");
  withExamples(privacy, ["medfcl privacy check data/images/*.png --out /tmp/would-leave", "medfcl privacy verify-log agent-state/privacy/audit-site-a.jsonl"]);

  withExamples(
    privacy
      .command("verify-log")
      .argument("<file>", "a site's audit log (JSONL)")
      .description("check the audit log's hash chain and name the first broken entry")
      .action(
        action((file: string) => {
          const v = verifyAuditLog(file);
          if (v.ok) {
            process.stdout.write(`OK ${file}: ${v.entries} entries, hash chain intact\n`);
            return ExitCode.Ok;
          }
          if (v.firstBroken?.line === 0) throw new PrivacyArgumentError(v.firstBroken.reason, { details: { file } });
          process.stdout.write(`BROKEN ${file}: entry ${v.firstBroken?.line} of ${v.entries}: ${v.firstBroken?.reason}\n`);
          return ExitCode.Failure;
        }),
      ),
    ["medfcl privacy verify-log agent-state/privacy/audit-site-a.jsonl"],
  );

  withExamples(
    privacy
      .command("check")
      .argument("<files...>", "images (PNG, JPEG, …) or DICOM files")
      .requiredOption("--out <dir>", "where the files that would leave are written, with manifest.json")
      .option("--site <id>", "site id (default: agent.siteId from the config, else 'local')")
      .option("--state-dir <dir>", "read budgets and earlier exports from this agent state dir (never written)")
      .option("--options <file>", "JSON with pipeline options: overlayRegions, roiCrop, roiMargin, …")
      .option("--secret-file <file>", "file holding the site secret (default: agent.privacy.siteSecret; else a throw-away one)")
      .description("run the exemplar filter on files without exporting: write what would leave and what was removed")
      .action(
        action(async (files: string[], opts: { out: string; site?: string; stateDir?: string; options?: string; secretFile?: string }, cmd: Command) => {
          const cfg = loadConfig({ file: globalOptions(cmd).config, env: process.env });
          const privacyCfg = cfg.agent.privacy;
          const { secret, ephemeral } = secretFrom(opts.secretFile, privacyCfg.siteSecret);
          const options = parseExemplarPipelineOptions(opts.options ? readJson(opts.options, "pipeline options") : {});
          // Without --state-dir the check starts from empty budgets in a throw-away folder, removed afterwards.
          const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), "medfcl-privacy-check-"));
          const res = await checkExemplarFiles(files, {
            out: opts.out,
            site: opts.site ?? cfg.agent.siteId ?? "local",
            config: privacyCfg,
            siteSecret: secret,
            stateDir,
            options,
          }).finally(() => {
            if (opts.stateDir === undefined) rmSync(stateDir, { recursive: true, force: true });
          });
          const ok = res.manifest.files.filter((f) => f.status === "would-export");
          const refused = res.manifest.files.filter((f) => f.status === "refused");
          if (ephemeral) process.stderr.write("medfcl: note: no site secret configured; source HMACs in this dry run use a throw-away secret\n");
          for (const f of ok) {
            const removed = Object.entries(f.removed ?? {}).reduce((n, [, r]) => n + r.length, 0);
            process.stdout.write(`WOULD LEAVE ${f.source} -> ${f.file} (${f.width}x${f.height}, ${removed} removal(s))\n`);
          }
          for (const f of refused) process.stdout.write(`STAYS       ${f.source}: [${f.stage}] ${f.reason}\n`);
          process.stdout.write(`${ok.length} of ${files.length} file(s) would leave the site; ${refused.length} stay. Manifest: ${res.manifestPath}\n`);
          return ExitCode.Ok;
        }),
      ),
    ["medfcl privacy check scans/*.dcm frames/*.png --out /tmp/would-leave", "medfcl privacy check a.jpg --out out --options overlays.json --state-dir agent-state"],
  );

  withExamples(
    privacy
      .command("deid-dicom")
      .argument("<in>", "DICOM Part 10 file")
      .requiredOption("--out <file>", "de-identified DICOM output")
      .option("--secret-file <file>", "file holding the site secret (default: agent.privacy.siteSecret)")
      .option("--timeout-ms <ms>", "time budget for the file; over it the file is refused", numberOption("--timeout-ms", true), DEFAULT_DICOM_BUDGET.timeoutMs)
      .option("--max-heap-mb <mb>", "memory budget (decoder heap) for the file; over it the file is refused", numberOption("--max-heap-mb", true), DEFAULT_DICOM_BUDGET.heapMb)
      .description("de-identify one DICOM file (Part 10 or a bare dataset) with the PS3.15 E.1 Basic Profile and list what changed")
      .action(
        action(async (input: string, opts: { out: string; secretFile?: string; timeoutMs: number; maxHeapMb: number }, cmd: Command) => {
          const cfg = loadConfig({ file: globalOptions(cmd).config, env: process.env });
          const { secret, ephemeral } = secretFrom(opts.secretFile, cfg.agent.privacy.siteSecret);
          if (ephemeral) throw new PrivacyArgumentError("deid-dicom needs the site secret so UIDs remap consistently; pass --secret-file or set agent.privacy.siteSecret");
          const r = await runDicomJob({ op: "deidentify", bytes: readFileSync(input), options: { siteSecret: secret }, path: input }, { timeoutMs: opts.timeoutMs, heapMb: opts.maxHeapMb });
          if (r.op !== "deidentify") throw new PrivacyArgumentError("the DICOM worker answered with the wrong result");
          await writeFileAtomic(opts.out, r.bytes);
          for (const note of r.notes) process.stderr.write(`medfcl: note: ${input}: decoder: ${note}\n`);
          for (const line of r.removed) process.stdout.write(`${line}\n`);
          process.stdout.write(`${r.removed.length} change(s); wrote ${opts.out}\n`);
        }),
      ),
    ["medfcl privacy deid-dicom CT_small.dcm --out /tmp/ct-deid.dcm --secret-file site.secret", "medfcl privacy deid-dicom big-study.dcm --out /tmp/big.dcm --secret-file site.secret --timeout-ms 60000 --max-heap-mb 1024"],
  );

  withExamples(
    privacy
      .command("epsilon")
      .requiredOption("--sigma <n>", "noise multiplier σ", numberOption("--sigma"))
      .option("--q <n>", "sampling rate", numberOption("--q"), 1)
      .requiredOption("--steps <n>", "number of steps (rounds)", numberOption("--steps", true))
      .option("--delta <n>", "δ", numberOption("--delta"), 1e-5)
      .description("ε of the sampled Gaussian mechanism by the RDP accountant")
      .action(
        action((opts: { sigma: number; q: number; steps: number; delta: number }) => {
          const r = computeEpsilon({ noiseMultiplier: opts.sigma, sampleRate: opts.q, steps: opts.steps, delta: opts.delta });
          process.stdout.write(`ε = ${r.epsilon.toFixed(6)} at δ = ${opts.delta} (best RDP order α = ${r.order})\n`);
        }),
      ),
    ["medfcl privacy epsilon --sigma 1.1 --q 0.01 --steps 1000 --delta 1e-5"],
  );
}
