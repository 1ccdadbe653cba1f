import { type Command } from "commander";
import { ConfigError } from "../services/config/index.js";
import { ErrorCode, isMedfclError, MedfclError } from "../services/errors/index.js";
import { createLogger, type Logger } from "../services/log/index.js";
import { DEFAULT_MODEL_FAMILY, findModelFamily, modelFamily, modelFamilyNames, needsBaseWeights } from "../services/model/index.js";

/** Exit codes: 0 ok, 1 a failed check or operation, 2 bad usage or config. */
export const ExitCode = { Ok: 0, Failure: 1, Usage: 2 } as const;

/** Options every command inherits from the root program. */
export interface GlobalOptions {
  config?: string;
  pretty?: boolean;
  logLevel?: string;
}

export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

export function commandLogger(cmd: Command, name: string): Logger {
  const g = globalOptions(cmd);
  return createLogger({ name, pretty: g.pretty, level: g.logLevel });
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof ConfigError) return ExitCode.Usage;
  if (isMedfclError(err) && err.code === ErrorCode.InvalidArgument) return ExitCode.Usage;
  return ExitCode.Failure;
}

/** One clear line on stderr (details for MedfclError) and the exit code; a stack only with MEDFCL_DEBUG. */
export function reportError(err: unknown): void {
  const detail = isMedfclError(err) && Object.keys(err.details).length > 0 ? ` ${JSON.stringify(err.details)}` : "";
  process.stderr.write(`medfcl: error: ${err instanceof Error ? err.message : String(err)}${detail}\n`);
  if (process.env.MEDFCL_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exitCode = exitCodeFor(err);
}

/**
 * Wraps a command action: errors become one clear line on stderr (with details for MedfclError)
 * and an exit code, never a stack trace unless MEDFCL_DEBUG is set.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void | number> | void | number) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      if (typeof code === "number") process.exitCode = code;
    } catch (err) {
      reportError(err);
    }
  };
}

/** Appends an "Examples:" block to a command's --help. */
export function withExamples(cmd: Command, examples: string[]): Command {
  return cmd.addHelpText("after", `\nExamples:\n${examples.map((e) => `  $ ${e}`).join("\n")}\n`);
}

/** A comma-separated flag value as its items, trimmed, empty items dropped ("a, b,," -> ["a", "b"]). */
export function commaList(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/**
 * A commander argument parser for a numeric flag; a bad value is a usage error naming the flag.
 * `min` is inclusive, `above` exclusive (a learning rate must be > 0, epochs ≥ 1).
 */
export function numberOption(name: string, integer = false, range: { min?: number; above?: number } = {}) {
  return (value: string): number => {
    const n = value.trim() === "" ? NaN : Number(value);
    const bound = range.min !== undefined ? ` ≥ ${range.min}` : range.above !== undefined ? ` > ${range.above}` : "";
    const bad = !Number.isFinite(n) || (integer && !Number.isInteger(n)) || (range.min !== undefined && n < range.min) || (range.above !== undefined && n <= range.above);
    if (bad) {
      throw new MedfclError(ErrorCode.InvalidArgument, `${name} expects a ${integer ? "whole " : ""}number${bound}, got "${value}"`, { details: { option: name } });
    }
    return n;
  };
}

/** A commander argument parser for a flag with a closed set of values; anything else is a usage error naming the flag. */
export function choiceOption<T extends string>(name: string, choices: readonly T[]) {
  return (value: string): T => {
    if ((choices as readonly string[]).includes(value)) return value as T;
    throw new MedfclError(ErrorCode.InvalidArgument, `${name} must be one of ${choices.join(", ")}, got "${value}"`, { details: { option: name } });
  };
}

/**
 * Parser of a `--model` flag: a family the registry knows, else a usage error (exit 2) naming the
 * flag and the families, before the command does anything (and before it looks up the family's
 * training defaults, which would fail without naming the flag).
 */
export function modelFamilyOption(name: string): (value: string) => string {
  return (value) => {
    if (!findModelFamily(value)) throw new MedfclError(ErrorCode.InvalidArgument, `${name} must be one of ${modelFamilyNames().join(", ")}, got "${value}"`, { details: { option: name } });
    return value;
  };
}

/** `--model` help from the registry: every family, the default first, and which need `medfcl model fetch`. */
export function modelOptionHelp(): string {
  const names = [DEFAULT_MODEL_FAMILY, ...modelFamilyNames().filter((n) => n !== DEFAULT_MODEL_FAMILY)];
  return `model family: ${names.map((n) => (needsBaseWeights(n) ? `${n} (pretrained; \`medfcl model fetch ${n}\` first)` : `${n} (random init)`)).join(" | ")}`;
}

/** "default by model: yolox-nano 1e-4, nano 2e-3, …", a training default of every family, for help texts. */
export function defaultByModel(field: "lr" | "batchSize" | "epochs" | "freezeStages"): string {
  return `default by model: ${modelFamilyNames()
    .map((n) => `${n} ${modelFamily(n).training[field]}`)
    .join(", ")}`;
}
