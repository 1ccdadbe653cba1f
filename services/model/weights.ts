import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { ErrorCode, MedfclError } from "../errors/index.js";
import { writeFileAtomic } from "../store/index.js";
import type { TensorMap } from "../tensors/index.js";
import { groundedConfig } from "./config.js";
import { ModelOptionError } from "./errors.js";
import { initWeights } from "./params.js";
import type { ModelConfig } from "./types.js";
import { BASE_MODELS, importYolox, type BaseModelName } from "./yolox.js";

export interface PublishedWeights {
  /** Pinned download: a commit-addressed URL, so the bytes behind it cannot change. */
  url: string;
  sha256: string;
  bytes: number;
  file: string;
  license: string;
  provenance: string;
}

/** The published weights each base model is imported from. */
export const PUBLISHED_WEIGHTS: Record<BaseModelName, PublishedWeights> = {
  "yolox-nano": {
    url: "https://github.com/Kazuhito00/YOLOX-ONNX-TFLite-Sample/raw/ac07155e3ac8a531d89d24204e50f364d3444275/model/yolox_nano.onnx",
    sha256: "695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14",
    bytes: 3_660_092,
    file: "yolox_nano.onnx",
    license: "Apache-2.0",
    provenance: "Megvii YOLOX 0.1.1rc0 yolox_nano.pth (COCO, 25.3 AP at 416 px), exported by YOLOX's tools/export_onnx.py (opset 11, batch norm folded)",
  },
};

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

export function isBaseModel(name: string): name is BaseModelName {
  return (BASE_MODELS as readonly string[]).includes(name);
}

export function baseModelInfo(name: string): PublishedWeights {
  if (!isBaseModel(name)) throw new ModelOptionError("model", `"${name}" is not a pretrained base; use ${BASE_MODELS.join(", ")}`);
  return PUBLISHED_WEIGHTS[name];
}

/** `$MEDFCL_CACHE`, else `$XDG_CACHE_HOME/medfcl`, else `~/.cache/medfcl`. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env[WEIGHTS_ENV.cache]) return env[WEIGHTS_ENV.cache]!;
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "medfcl");
}

export function cachedWeightsPath(name: BaseModelName, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), "weights", name, PUBLISHED_WEIGHTS[name].file);
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function verify(name: BaseModelName, bytes: Uint8Array, source: string): void {
  const want = PUBLISHED_WEIGHTS[name].sha256;
  const got = sha256(bytes);
  if (got !== want) {
    throw new BaseWeightsError(`${source} is not the published ${name} weights: its sha256 is ${got}, expected ${want}. Get the file from ${PUBLISHED_WEIGHTS[name].url}`, {
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
  const model = name as BaseModelName;
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

function offlineError(name: BaseModelName, url: string, env: NodeJS.ProcessEnv | undefined, cause: unknown): BaseWeightsError {
  const why = cause instanceof Error ? ((cause as Error & { cause?: Error }).cause?.message ?? cause.message) : String(cause);
  return new BaseWeightsError(
    `cannot download the ${name} weights from ${url} (${why}). On a machine without internet, copy ${PUBLISHED_WEIGHTS[name].file} here and run ` +
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
  const info = baseModelInfo(name);
  const model = name as BaseModelName;
  const explicit = file ?? env[WEIGHTS_ENV.file];
  if (explicit) {
    const bytes = await readIfPresent(explicit);
    if (!bytes) throw new BaseWeightsError(`the ${name} weights file ${explicit} does not exist (from ${file ? "--base-weights" : WEIGHTS_ENV.file})`, { file: explicit });
    verify(model, bytes, explicit);
    return bytes;
  }
  const dest = cachedWeightsPath(model, env);
  const cached = await readIfPresent(dest);
  if (!cached) {
    throw new BaseWeightsError(
      `the ${name} weights are not in the cache (${dest}). Run \`medfcl model fetch ${name}\` (downloads ${info.url}), or \`medfcl model fetch ${name} --from FILE\` offline, ` +
        `or pass --base-weights FILE / set ${WEIGHTS_ENV.file}=FILE`,
      { file: dest, model: name },
    );
  }
  verify(model, cached, dest);
  return cached;
}

/**
 * The grounded detector's starting point: the imported pretrained tensors plus seeded weights for
 * what is new (text encoder, alignment head). The seed changes only the new tensors.
 */
export function importBaseModel(name: string, bytes: Uint8Array, seed: number, overrides: Partial<ModelConfig> = {}): { config: ModelConfig; weights: TensorMap } {
  baseModelInfo(name);
  const { backbone, weights: pretrained } = importYolox(bytes, name as BaseModelName, name);
  const config = groundedConfig(backbone, overrides);
  const weights = initWeights(config, seed);
  for (const [k, t] of pretrained) weights.set(k, t);
  return { config, weights };
}
