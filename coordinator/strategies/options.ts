import { InvalidRunError } from "../errors.js";
import type { ResolvedOptions, StrategyOptions } from "./strategy.js";

/**
 * One option a strategy takes. It arrives as a string (`CreateRunRequest.options`, `--option k=v`)
 * and is resolved once, when the run is created, into a typed value that the run stores; an absent
 * or empty value means the default.
 */
export type OptionSpec =
  | { kind: "int"; default: number; min: number; max?: number; doc: string }
  | { kind: "number"; default: number; min: number; max: number; doc: string }
  | { kind: "choice"; default: string; values: readonly string[]; doc: string };

export type OptionSchema = Record<string, OptionSpec>;

/** The typed values of a schema's options, defaults filled in; a choice is the union of its values. */
export type ParsedOptions<S extends OptionSchema> = { [K in keyof S]: S[K] extends { kind: "choice"; values: readonly (infer V extends string)[] } ? V : number };

function listed(values: readonly string[]): string {
  return values.length > 1 ? `${values.slice(0, -1).join(", ")} or ${values[values.length - 1]}` : values.join("");
}

/** A raw string (from the wire or the CLI) or a value a run stored already resolved. */
function parseOne(key: string, spec: OptionSpec, raw: string | number | undefined): number | string {
  if (raw === undefined || raw === "") return spec.default;
  const field = `options.${key}`;
  if (spec.kind === "choice") {
    if (typeof raw !== "string" || !spec.values.includes(raw)) throw new InvalidRunError(`strategy option "${key}" must be ${listed(spec.values)}, got "${raw}"`, field);
    return raw;
  }
  const n = typeof raw === "number" ? raw : Number(raw);
  if (spec.kind === "int") {
    const max = spec.max ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isInteger(n) || n < spec.min || n > max) throw new InvalidRunError(`strategy option "${key}" must be an integer in [${spec.min}, ${max}], got "${raw}"`, field);
    return n;
  }
  if (!Number.isFinite(n) || n < spec.min || n > spec.max) throw new InvalidRunError(`strategy option "${key}" must be a number in [${spec.min}, ${spec.max}], got "${raw}"`, field);
  return n;
}

/**
 * Checks a run's options against a strategy's schema: an unknown key (a typo such as "bufer") or a
 * bad value is an InvalidRunError naming `options.<key>`; nothing is silently ignored.
 */
export function parseOptions<S extends OptionSchema>(strategy: string, schema: S, raw: StrategyOptions | ResolvedOptions): ParsedOptions<S> {
  const known = Object.keys(schema);
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) {
      throw new InvalidRunError(`strategy "${strategy}" has no option "${key}"; it takes ${known.length ? known.join(", ") : "no options"}`, `options.${key}`);
    }
  }
  const out: Record<string, number | string> = {};
  for (const [key, spec] of Object.entries(schema)) out[key] = parseOne(key, spec, raw[key]);
  return out as ParsedOptions<S>;
}

/** A schema's defaults as they are typed on the command line (for help texts and plans). */
export function defaultOptions(schema: OptionSchema): StrategyOptions {
  return Object.fromEntries(Object.entries(schema).map(([key, spec]) => [key, String(spec.default)]));
}

/** Resolved options as the wire carries them (`Run.options` is a map of strings). */
export function optionsToStrings(options: ResolvedOptions): StrategyOptions {
  return Object.fromEntries(Object.entries(options).map(([key, value]) => [key, String(value)]));
}
