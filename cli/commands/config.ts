import { type Command } from "commander";
import { envLeaves, loadConfig } from "../../services/config/index.js";
import { WEIGHTS_ENV } from "../../services/model/index.js";
import { action, globalOptions, withExamples } from "../context.js";

export function registerConfig(program: Command): void {
  const config = program.command("config").description("check and show the coordinator/agent configuration");
  withExamples(config, ["medfcl config check --config site.yaml", "medfcl config env"]);

  withExamples(
    config
      .command("check")
      .description("validate the config from --config, MEDFCL_* env and print the resolved values")
      .action(
        action((_opts: unknown, cmd: Command) => {
          const cfg = loadConfig({ file: globalOptions(cmd).config, env: process.env });
          process.stdout.write(`${JSON.stringify(cfg, null, 2)}\n`);
        }),
      ),
    ["medfcl config check --config deploy/examples/agent.yaml", "MEDFCL_AGENT_BACKEND=cpu medfcl config check"],
  );

  withExamples(
    config
      .command("env")
      .description("list every environment variable medfcl reads and the key it sets")
      .action(
        action(() => {
          for (const leaf of envLeaves()) process.stdout.write(`${leaf.envName.padEnd(44)} ${leaf.path.join(".")}\n`);
          // Read by every command that needs a pretrained base, outside the config file.
          process.stdout.write(`${WEIGHTS_ENV.cache.padEnd(44)} (cache of \`medfcl model fetch\`; default $XDG_CACHE_HOME/medfcl)\n`);
          process.stdout.write(`${WEIGHTS_ENV.file.padEnd(44)} (a pretrained base's weights file, instead of the cache)\n`);
        }),
      ),
    ["medfcl config env | grep AGENT"],
  );
}
