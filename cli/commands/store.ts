import { type Command } from "commander";
import { BlobCorruptError, openBlobStore } from "../../services/store/index.js";
import { action, ExitCode, withExamples } from "../context.js";

export function registerStore(program: Command): void {
  const store = program.command("store").description("inspect a content-addressed blob store");
  withExamples(store, ["medfcl store verify coordinator-state/blobs"]);
  withExamples(
    store
      .command("verify")
      .argument("<dir>", "blob store root (e.g. coordinator-state/blobs)")
      .description("re-hash every blob and report the corrupt ones")
      .action(
        action((dir: string) => {
          const blobs = openBlobStore(dir);
          let bad = 0;
          for (const sha of blobs.list()) {
            try {
              blobs.get(sha);
            } catch (err) {
              if (!(err instanceof BlobCorruptError)) throw err;
              bad++;
              process.stdout.write(`CORRUPT ${sha} ${err.message}\n`);
            }
          }
          process.stdout.write(`${blobs.list().length} blobs, ${bad} corrupt\n`);
          return bad > 0 ? ExitCode.Failure : ExitCode.Ok;
        }),
      ),
    ["medfcl store verify coordinator-state/blobs"],
  );
}
