import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { ErrorCode, MedfclError } from "../../errors/index.js";
import { writeFileAtomic } from "../../store/index.js";
import type { TensorMap } from "../../tensors/index.js";
import { ModelOptionError } from "../core/errors.js";
import { createModel, modelFamily, modelFamilyNames, needsBaseWeights, type PublishedWeights } from "./index.js";
import type { ModelConfig } from "../core/types.js";

export type { PublishedWeights } from "./index.js";

/** Environment variables that locate weights (listed by `medfcl config env`). */
export const WEIGHTS_ENV = {
  cache: "MEDFCL_CACHE",
  file: "MEDFCL_BASE_WEIGHTS",
} as const;

/** A base model's weights are missing, unverifiable, or not the pinned file. */
export class BaseWeightsError extends MedfclError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(ErrorCode.FailedPrecondition, message, { details, cause });
  }
}

/** The published weights of a family that starts from them; ModelOptionError for one that does not. */
export function baseModelInfo(name: string): PublishedWeights {
  const info = modelFamily(name).baseWeights;
  if (!info) throw new ModelOptionError("model", `"${name}" starts from random weights; the models with published weights are ${modelFamilyNames().filter(needsBaseWeights).join(", ")}`);
  return info;
}

/** `$MEDFCL_CACHE`, else `$XDG_CACHE_HOME/medfcl`, else `~/.cache/medfcl`. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env[WEIGHTS_ENV.cache]) return env[WEIGHTS_ENV.cache]!;
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "medfcl");
}

export function cachedWeightsPath(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), "weights", name, baseModelInfo(name).file);
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function verify(name: string, bytes: Uint8Array, source: string): void {
  const want = baseModelInfo(name).sha256;
  const got = sha256(bytes);
  if (got !== want) {
    throw new BaseWeightsError(`${source} is not the published ${name} weights: its sha256 is ${got}, expected ${want}. Get the file from ${baseModelInfo(name).url}`, {
      file: source,
      sha256: got,
      expected: want,
    });
  }
}

async function readIfPresent(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new BaseWeightsError(`cannot read ${path}: ${(err as Error).message}`, { file: path }, err);
  }
}

export interface FetchOptions {
  /** Import this local file (checked against the pinned sha256) instead of downloading. */
  from?: string;
  /** Download from here instead of the pinned URL (a mirror); the sha256 is checked all the same. */
  url?: string;
  env?: NodeJS.ProcessEnv;
  onProgress?: (received: number, total: number) => void;
}

/**
 * Puts the verified weights of `name` in the cache and returns their path: from `--from FILE`, from
 * the cache when already there (re-verified), or downloaded once from the pinned URL.
 */
export async function fetchBaseWeights(name: string, opts: FetchOptions = {}): Promise<{ path: string; source: "file" | "cache" | "download"; sha256: string }> {
  const info = baseModelInfo(name);
  const model = name;
  const dest = cachedWeightsPath(model, opts.env);
  if (opts.from) {
    const bytes = await readIfPresent(opts.from);
    if (!bytes) throw new BaseWeightsError(`--from ${opts.from}: no such file`, { file: opts.from });
    verify(model, bytes, opts.from);
    await mkdir(join(dest, ".."), { recursive: true });
    await writeFileAtomic(dest, bytes);
    return { path: dest, source: "file", sha256: info.sha256 };
  }
  const cached = await readIfPresent(dest);
  if (cached && sha256(cached) === info.sha256) return { path: dest, source: "cache", sha256: info.sha256 };
  const url = opts.url ?? info.url;
  let res: Response;
  try {
    res = await fetch(url, { redirect: "follow" });
  } catch (err) {
    throw offlineError(model, url, opts.env, err);
  }
  if (!res.ok || !res.body) throw offlineError(model, url, opts.env, new Error(`HTTP ${res.status} ${res.statusText}`));
  const total = Number(res.headers.get("content-length") ?? info.bytes);
  const chunks: Uint8Array[] = [];
  let received = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.byteLength;
    opts.onProgress?.(received, total);
  }
  const bytes = Buffer.concat(chunks);
  verify(model, bytes, url);
  await mkdir(join(dest, ".."), { recursive: true });
  await writeFileAtomic(dest, bytes);
  return { path: dest, source: "download", sha256: info.sha256 };
}

function offlineError(name: string, url: string, env: NodeJS.ProcessEnv | undefined, cause: unknown): BaseWeightsError {
  const why = cause instanceof Error ? ((cause as Error & { cause?: Error }).cause?.message ?? cause.message) : String(cause);
  return new BaseWeightsError(
    `cannot download the ${name} weights from ${url} (${why}). On a machine without internet, copy ${baseModelInfo(name).file} here and run ` +
      `\`medfcl model fetch ${name} --from FILE\` (it lands in ${cachedWeightsPath(name, env)}; set ${WEIGHTS_ENV.cache} to move the cache), ` +
      `or point ${WEIGHTS_ENV.file}=FILE / --base-weights FILE at it`,
    { url, model: name },
    cause,
  );
}

/**
 * The verified bytes of a base model's weights, for commands that need the base: an explicit file
 * (flag), else `$MEDFCL_BASE_WEIGHTS`, else the cache. Never downloads: that is `medfcl model fetch`.
 */
export async function loadBaseWeights(name: string, file?: string, env: NodeJS.ProcessEnv = process.env): Promise<Buffer> {
  const explicit = file ?? env[WEIGHTS_ENV.file];
  const path = explicit ?? cachedWeightsPath(name, env);
  const bytes = await readIfPresent(path);
  if (!bytes) throw missingWeights(name, path, explicit !== undefined, file !== undefined);
  verify(name, bytes, path);
  return bytes;
}

function missingWeights(name: string, path: string, explicit: boolean, fromFlag: boolean): BaseWeightsError {
  if (explicit) return new BaseWeightsError(`the ${name} weights file ${path} does not exist (from ${fromFlag ? "--base-weights" : WEIGHTS_ENV.file})`, { file: path });
  return new BaseWeightsError(
    `the ${name} weights are not in the cache (${path}). Run \`medfcl model fetch ${name}\` (downloads ${baseModelInfo(name).url}), or \`medfcl model fetch ${name} --from FILE\` offline, ` +
      `or pass --base-weights FILE / set ${WEIGHTS_ENV.file}=FILE`,
    { file: path, model: name },
  );
}

/**
 * A new model of the family: for one with published weights, those weights are loaded as
 * `loadBaseWeights` does (never downloaded) and imported; the seed changes only the new tensors.
 */
export async function createModelWithBase(name: string, opts: { seed: number; inputSize?: number; baseWeightsFile?: string; env?: NodeJS.ProcessEnv }): Promise<{ config: ModelConfig; weights: TensorMap }> {
  const baseWeights = needsBaseWeights(name) ? await loadBaseWeights(name, opts.baseWeightsFile, opts.env) : undefined;
  return createModel(name, { seed: opts.seed, inputSize: opts.inputSize, baseWeights });
}

/**
 * Where the family's verified weights are, without reading more than the file: an explicit file,
 * else `$MEDFCL_BASE_WEIGHTS`, else the cache. Throws BaseWeightsError naming `medfcl model fetch`
 * when there are none; for a coordinator that must refuse such a run before it starts.
 */
export function locateBaseWeights(name: string, file?: string, env: NodeJS.ProcessEnv = process.env): string {
  const explicit = file ?? env[WEIGHTS_ENV.file];
  const path = explicit ?? cachedWeightsPath(name, env);
  if (!existsSync(path)) throw missingWeights(name, path, explicit !== undefined, file !== undefined);
  return path;
}
