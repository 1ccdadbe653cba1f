import { type Command } from "commander";
import { existsSync } from "node:fs";
import { loadConfig } from "../../services/config/index.js";
import { ErrorCode, MedfclError } from "../../services/errors/index.js";
import { BLOB_KINDS, fmtBytes, gcState, inspectState, StateDirLockedError, verifyState } from "../../coordinator/index.js";
import { action, commandLogger, ExitCode, globalOptions, reportError, withExamples } from "../context.js";

export function registerStore(program: Command): void {
  const store = program.command("store").description("inspect and prune the coordinator's state dir (content-addressed blobs and the database that names them)");
  withExamples(store, ["medfcl store verify coordinator-state", "medfcl store gc --state-dir coordinator-state"]);
  withExamples(
    store
      .command("verify")
      .argument("<dir>", "the coordinator's state dir, or a blob store root (e.g. coordinator-state/blobs)")
      .description(
        "re-hash every blob and report the corrupt ones; with the database beside the blobs, also the blobs a version, exemplar or running run's update lacks, and orphan versions (read-only: safe beside a running coordinator; exit 1 on any finding)",
      )
      .action(
        action((dir: string) => {
          if (!existsSync(dir)) throw new MedfclError(ErrorCode.NotFound, `${dir} does not exist; pass the coordinator's state dir or its blob store, e.g. coordinator-state`, { details: { path: dir } });
          const state = inspectState(dir);
          try {
            const r = verifyState(state.blobs, state.db);
            for (const c of r.corrupt) process.stdout.write(`CORRUPT ${c.sha256} ${c.message}\n`);
            for (const m of r.missing) process.stdout.write(`MISSING ${m.sha256} (${m.what})\n`);
            for (const v of r.orphanVersions) process.stdout.write(`ORPHAN version ${v.version} (run ${v.runId ?? "-"}, step ${v.step}, ${v.strategy}): no run, step, round or child version names it\n`);
            const parts = [`${r.blobs} blobs (${r.bytesVerified} bytes verified)`, `${r.corrupt.length} corrupt`];
            if (state.db) parts.push(`${r.missing.length} missing`, `${r.orphanVersions.length} orphan versions`, `${r.unreferenced} unreferenced blobs`);
            if (r.staging) parts.push(`${r.staging} upload(s) in staging`);
            process.stdout.write(`${parts.join(", ")}\n`);
            if (r.corrupt.length > 0) process.stdout.write("a corrupt blob is replaced when its correct bytes are stored again (a site re-pushes, or the coordinator re-creates the version)\n");
            if (r.unreferenced > 0) process.stdout.write("unreferenced blobs are writes whose row never committed; `medfcl store gc` removes them\n");
            return r.corrupt.length + r.missing.length + r.orphanVersions.length > 0 ? ExitCode.Failure : ExitCode.Ok;
          } finally {
            state.close();
          }
        }),
      ),
    ["medfcl store verify coordinator-state", "medfcl store verify /state/blobs || echo 'findings listed above'"],
  );

  withExamples(
    store
      .command("gc")
      .description(
        "list the blobs no run needs (updates of runs that ended, blobs no row names) and, with --apply, delete them; a model version of any lineage and a replay exemplar are never deleted. --apply takes the state dir's lock: stop the coordinator first",
      )
      .option("--state-dir <dir>", "the coordinator's state dir (coordinator.stateDir)")
      .option("--apply", "delete them (without it: a dry run that only lists)")
      .action(
        action((f: { stateDir?: string; apply?: boolean }, cmd: Command) => {
          const stateDir = f.stateDir ?? loadConfig({ file: globalOptions(cmd).config, env: process.env }).coordinator.stateDir;
          if (!existsSync(stateDir)) throw new MedfclError(ErrorCode.NotFound, `${stateDir} does not exist; pass the coordinator's state dir with --state-dir`, { details: { path: stateDir } });
          let res;
          try {
            res = gcState(stateDir, { apply: Boolean(f.apply), logger: commandLogger(cmd, "store-gc") });
          } catch (err) {
            if (!(err instanceof StateDirLockedError)) throw err;
            reportError(err);
            return ExitCode.Usage;
          }
          for (const k of BLOB_KINDS) process.stdout.write(`${k.padEnd(13)} ${String(res.usage[k].blobs).padStart(6)} blobs ${fmtBytes(res.usage[k].bytes).padStart(10)}\n`);
          const bytes = res.candidates.reduce((n, e) => n + e.bytes, 0);
          if (f.apply) process.stdout.write(`deleted ${res.removed.length} blobs (${fmtBytes(bytes)})\n`);
          else {
            for (const e of res.candidates) process.stdout.write(`would delete ${e.sha256} ${e.kind} ${e.bytes}\n`);
            process.stdout.write(`${res.candidates.length} blobs (${fmtBytes(bytes)}) would be deleted; run again with --apply (the coordinator stopped) to delete them\n`);
          }
          return ExitCode.Ok;
        }),
      ),
    ["medfcl store gc --state-dir /state", "medfcl store gc --state-dir /state --apply   # the coordinator stopped"],
  );
}
