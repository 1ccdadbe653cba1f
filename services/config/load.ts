import { existsSync, readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError } from "./errors.js";
import { configSchema, type MedfclConfig } from "./schema.js";

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface LoadConfigOptions {
  /** A JSON or YAML file; missing file is an error when given. */
  file?: string;
  /** Usually `process.env`; variables are `MEDFCL_<SECTION>_<KEY>` in upper snake case. */
  env?: Record<string, string | undefined>;
  /** Values from command-line flags, as a partial config; they win over file and env. */
  overrides?: JsonObject;
}

function toUpperSnake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

function unwrap(schema: z.ZodTypeAny): z.ZodTypeAny {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodDefault) s = s._def.innerType;
    else if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap();
    else if (s instanceof z.ZodEffects) s = s.innerType();
    else return s;
  }
}

interface EnvLeaf {
  path: string[];
  envName: string;
  schema: z.ZodTypeAny;
}

/** Every scalar key of the schema with the env variable that sets it, e.g. agent.siteId -> MEDFCL_AGENT_SITE_ID. */
export function envLeaves(schema: z.ZodTypeAny = configSchema, path: string[] = []): EnvLeaf[] {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) {
    const shape = inner.shape as Record<string, z.ZodTypeAny>;
    return Object.entries(shape).flatMap(([key, child]) => envLeaves(child, [...path, key]));
  }
  return [{ path, envName: `MEDFCL_${path.map(toUpperSnake).join("_")}`, schema: inner }];
}

function coerceEnv(leaf: EnvLeaf, raw: string): Json {
  const s = leaf.schema;
  const key = leaf.path.join(".");
  if (s instanceof z.ZodNumber) {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n)) throw new ConfigError(key, `expected a number, got "${raw}"`, leaf.envName);
    return n;
  }
  if (s instanceof z.ZodBoolean) {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new ConfigError(key, `expected true or false, got "${raw}"`, leaf.envName);
  }
  if (s instanceof z.ZodRecord || s instanceof z.ZodArray) {
    try {
      return JSON.parse(raw) as Json;
    } catch {
      throw new ConfigError(key, `expected JSON, got "${raw}"`, leaf.envName);
    }
  }
  return raw;
}

function setPath(target: JsonObject, path: string[], value: Json): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined || next === null || typeof next !== "object" || Array.isArray(next)) node[key] = {};
    node = node[key] as JsonObject;
  }
  node[path[path.length - 1]] = value;
}

function deepMerge(base: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    if (value && typeof value === "object" && !Array.isArray(value) && prev && typeof prev === "object" && !Array.isArray(prev)) {
      out[key] = deepMerge(prev as JsonObject, value as JsonObject);
    } else if (value !== undefined) {
      out[key] = value;
    }
  }
  return out;
}

function readConfigFile(file: string): JsonObject {
  if (!existsSync(file)) throw new ConfigError("(file)", `config file ${file} does not exist`, file);
  const text = readFileSync(file, "utf8");
  let parsed: unknown;
  try {
    parsed = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new ConfigError("(file)", `cannot parse ${file}: ${(err as Error).message}`, file);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) throw new ConfigError("(root)", "the config file must hold an object", file);
  return parsed as JsonObject;
}

/** Validates a merged config object; the first problem names its dotted key. */
export function parseConfig(raw: unknown, source?: string): MedfclConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const unknownKeys = issue.code === "unrecognized_keys" ? issue.keys : [];
    const path = [...issue.path.map(String), ...unknownKeys.slice(0, 1)];
    throw new ConfigError(path.join(".") || "(root)", issue.message, source);
  }
  return result.data;
}

/** File, then env, then flags; the later source wins. Throws ConfigError naming the bad key. */
export function loadConfig(options: LoadConfigOptions = {}): MedfclConfig {
  let merged: JsonObject = options.file ? readConfigFile(options.file) : {};
  const envObj: JsonObject = {};
  const env = options.env ?? {};
  for (const leaf of envLeaves()) {
    const raw = env[leaf.envName];
    if (raw !== undefined) setPath(envObj, leaf.path, coerceEnv(leaf, raw));
  }
  merged = deepMerge(merged, envObj);
  if (options.overrides) merged = deepMerge(merged, options.overrides);
  return parseConfig(merged, options.file);
}
