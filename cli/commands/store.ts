import { type Command } from "commander";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ErrorCode, MedfclError } from "../../services/errors/index.js";
import { BlobCorruptError, openBlobStore } from "../../services/store/index.js";
import { action, ExitCode, withExamples } from "../context.js";

export function registerStore(program: Command): void {
  const store = program.command("store").description("inspect a content-addressed blob store");
  withExamples(store, ["medfcl store verify coordinator-state/blobs"]);
  withExamples(
    store
      .command("verify")
      .argument("<dir>", "blob store root (e.g. coordinator-state/blobs)")
      .description("re-hash every blob and report the corrupt ones (read-only: safe beside a running coordinator; exit 1 when any is corrupt)")
      .action(
        action((dir: string) => {
          if (!existsSync(dir)) throw new MedfclError(ErrorCode.NotFound, `${dir} does not exist; pass the blob store root, e.g. coordinator-state/blobs`, { details: { path: dir } });
          const blobs = openBlobStore(dir, { inspectOnly: true });
          const names = blobs.list();
          let bad = 0;
          let bytes = 0;
          for (const sha of names) {
            try {
              bytes += blobs.get(sha).length;
            } catch (err) {
              if (!(err instanceof BlobCorruptError)) throw err;
              bad++;
              process.stdout.write(`CORRUPT ${sha} ${err.message}\n`);
            }
          }
          const staging = existsSync(join(dir, "staging")) ? readdirSync(join(dir, "staging")).length : 0;
          process.stdout.write(`${names.length} blobs (${bytes} bytes verified), ${bad} corrupt${staging ? `, ${staging} upload(s) in staging` : ""}\n`);
          if (bad > 0) process.stdout.write("a corrupt blob is replaced when its correct bytes are stored again (a site re-pushes, or the coordinator re-creates the version)\n");
          return bad > 0 ? ExitCode.Failure : ExitCode.Ok;
        }),
      ),
    ["medfcl store verify coordinator-state/blobs", "medfcl store verify /state/blobs || echo 'corrupt blobs listed above'"],
  );
}
