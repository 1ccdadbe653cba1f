import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { it } from "node:test";
import { skipUnless } from "./ci.js";

/**
 * The project's shared folder of real data and weights (never committed): `$MEDFCL_SHARED_DIR`, else
 * `../shared` beside the repository, where CI puts it.
 */
export function sharedDir(): string {
  return resolve(process.env.MEDFCL_SHARED_DIR ?? join(import.meta.dirname, "..", "..", "..", "shared"));
}

export const YOLOX_NANO_ONNX = (): string => join(sharedDir(), "weights", "yolox-nano", "yolox_nano.onnx");
export const KVASIR_DIR = (): string => join(sharedDir(), "datasets", "kvasir-seg");

/**
 * Whether the shared files a test needs are here. When missing, registers one test that skips with
 * a message locally and fails under CI=true (where .ci/run guarantees ../shared).
 */
export function haveShared(what: string, paths: string[]): boolean {
  const missing = paths.filter((p) => !existsSync(p));
  const skip = skipUnless(what, missing.length === 0 ? false : `it needs ${missing.join(", ")} (set MEDFCL_SHARED_DIR to the shared folder)`);
  if (skip !== false) it(`${what} - needs the shared folder`, { skip }, () => undefined);
  return skip === false;
}

export function sharedDatasets(): string {
  return join(sharedDir(), "datasets");
}

/**
 * For `describe(name, { skip: sharedDataSkipReason() })`: false when the real datasets are there,
 * a message when they are not. Under CI=true a missing folder is an error, not a skip.
 */
export function sharedDataSkipReason(): string | false {
  const d = sharedDatasets();
  const missing = REAL_DATASET_FILES.filter((f) => !existsSync(join(d, f)));
  return skipUnless("the real-data tests", missing.length === 0 ? false : `${d} lacks ${missing.join(", ")}; set MEDFCL_SHARED_DIR=/path/to/shared or put shared/ beside the clone`);
}

/** One file of each dataset in ../shared/datasets (its README.md describes them). */
const REAL_DATASET_FILES = [
  "kvasir-seg/kavsir_bboxes.json",
  "bccd/Annotations",
  "bkai-neopolyp/masks",
  "cvc-colondb/README.txt.txt",
  "fuseg/validation/labels",
  "tbx11k/tbx11k-small-balanced/data.yaml",
  "busi/normal/mask",
  "ph2/PH2 Dataset images",
  "monuseg/MoNuSegTestData",
];
