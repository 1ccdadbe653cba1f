import { readFile } from "node:fs/promises";
import { sha256Hex, writeFileAtomic } from "../../store/index.js";
import type { TensorMap } from "../../tensors/index.js";
import { configHash, parseModelConfig } from "../core/config.js";
import type { Detector } from "../tfjs/detector.js";
import { CheckpointError } from "../core/errors.js";
import { decodeSafetensors, encodeSafetensors } from "./safetensors.js";
import type { ModelConfig } from "../core/types.js";

/** Checkpoint metadata keys (all strings, in the safetensors `__metadata__`). */
export const CKPT_META = {
  format: "format",
  config: "medfcl.config",
  configHash: "medfcl.config_hash",
  parent: "medfcl.parent",
  createdBy: "medfcl.created_by",
  createdAt: "medfcl.created_at",
  /** sha256 of the tensor bytes region (everything after the header), so it is independent of metadata. */
  tensorsSha256: "medfcl.tensors_sha256",
} as const;

export function checkpointBytes(config: ModelConfig, weights: TensorMap, meta: { parent?: string; createdBy?: string; createdAt?: string } = {}): Buffer {
  const body = encodeSafetensors(weights, {});
  const hlen = Number(body.readBigUInt64LE(0));
  const tensorsSha = sha256Hex(body.subarray(8 + hlen));
  return encodeSafetensors(weights, {
    [CKPT_META.format]: "pt",
    [CKPT_META.config]: JSON.stringify(config),
    [CKPT_META.configHash]: configHash(config),
    [CKPT_META.parent]: meta.parent ?? "",
    [CKPT_META.createdBy]: meta.createdBy ?? "medfcl",
    [CKPT_META.createdAt]: meta.createdAt ?? new Date().toISOString(),
    [CKPT_META.tensorsSha256]: tensorsSha,
  });
}

/** Writes the detector's weights atomically; returns the sha256 of the whole file. */
export async function saveCheckpoint(path: string, det: Detector, meta: { parent?: string; createdBy?: string } = {}): Promise<string> {
  const bytes = checkpointBytes(det.config, det.getWeights(), meta);
  await writeFileAtomic(path, bytes);
  return sha256Hex(bytes);
}

export function parseCheckpoint(buf: Uint8Array, source = "checkpoint"): { config: ModelConfig; tensors: TensorMap; metadata: Record<string, string> } {
  const { tensors, metadata } = decodeSafetensors(buf);
  const raw = metadata[CKPT_META.config];
  if (!raw) throw new CheckpointError(`${source} has no "${CKPT_META.config}" metadata: it was not written by medfcl (saveCheckpoint)`, { details: { file: source } });
  let config: ModelConfig;
  try {
    config = parseModelConfig(JSON.parse(raw) as ModelConfig);
  } catch (err) {
    throw new CheckpointError(`${source}: its stored model config is invalid: ${(err as Error).message}`, { cause: err, details: { file: source } });
  }
  const want = metadata[CKPT_META.configHash];
  if (want && want !== configHash(config)) {
    throw new CheckpointError(`${source}: config hash ${want} does not match its stored config (${configHash(config)}); the file was edited or is corrupt`, { details: { file: source } });
  }
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const shaWant = metadata[CKPT_META.tensorsSha256];
  if (shaWant) {
    const hlen = Number(b.readBigUInt64LE(0));
    const got = sha256Hex(b.subarray(8 + hlen));
    if (got !== shaWant) throw new CheckpointError(`${source}: tensor bytes hash to ${got}, the header says ${shaWant}; the file is corrupt`, { details: { file: source } });
  }
  return { config, tensors, metadata };
}

export async function loadCheckpoint(path: string): Promise<{ config: ModelConfig; tensors: TensorMap; metadata: Record<string, string> }> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw new CheckpointError(`cannot read checkpoint ${path}: ${(err as Error).message}`, { cause: err, details: { file: path } });
  }
  return parseCheckpoint(buf, path);
}
