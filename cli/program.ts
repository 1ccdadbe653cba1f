import { Command, CommanderError } from "commander";
import { readFileSync } from "node:fs";
import { isMedfclError } from "../services/errors/index.js";
import { ExitCode, reportError, withExamples } from "./context.js";
import { registerAll } from "./commands/index.js";

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    return pkg.version;
  } catch {
    return "0.0.0";
  }
}

export function buildProgram(): Command {
  const program = new Command("medfcl")
    .description("Federated continual learning of medical object detectors: a coordinator, one agent per hospital, and the audit of forgetting.")
    .version(version())
    .option("-c, --config <file>", "config file (JSON or YAML); MEDFCL_* env and flags override it")
    .option("--pretty", "human-readable logs (default when stderr is a terminal)")
    .option("--log-level <level>", "fatal|error|warn|info|debug|trace|silent")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  withExamples(program, ["make demo", "medfcl simulate --suite polyp --sites 5 --strategy rehearsal --out runs/demo", "medfcl <command> --help"]);
  registerAll(program);
  return program;
}

export async function runCli(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0 || err.code === "commander.helpDisplayed" || err.code === "commander.version") {
        process.exitCode = 0;
        return;
      }
      process.exitCode = ExitCode.Usage;
      return;
    }
    // Option parsers (numberOption) throw while commander parses, before any action wraps them.
    if (isMedfclError(err)) {
      reportError(err);
      return;
    }
    throw err;
  }
}
