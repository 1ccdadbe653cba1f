import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { it } from "node:test";

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
  if (missing.length === 0) return true;
  const msg = `${what} needs ${missing.join(", ")} (set MEDFCL_SHARED_DIR to the shared folder)`;
  if (process.env.CI) {
    it(`${what} - shared data is required in CI`, () => {
      throw new Error(msg);
    });
  } else {
    it(`${what} - skipped: shared data missing`, { skip: msg }, () => undefined);
  }
  return false;
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
  if (missing.length === 0) return false;
  if (process.env.CI) throw new Error(`the real datasets are required in CI but ${d} lacks ${missing.join(", ")}; set MEDFCL_SHARED_DIR or put shared/ beside the clone`);
  return `real datasets not found in ${d} (missing ${missing.join(", ")}); set MEDFCL_SHARED_DIR=/path/to/shared to run these tests`;
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
