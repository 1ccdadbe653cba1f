// The real datasets in ../shared/datasets (never in the repository: their licences forbid it).
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

const repoRoot = resolve(import.meta.dirname, "..", "..");

/** MEDFCL_SHARED_DIR, else <repo>/../shared (where CI puts it beside the clone). */
export function sharedDir(): string {
  return resolve(process.env.MEDFCL_SHARED_DIR ?? join(repoRoot, "..", "shared"));
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
  const have = existsSync(join(d, "kvasir-seg", "kavsir_bboxes.json")) && existsSync(join(d, "bccd", "Annotations"));
  if (have) return false;
  if (process.env.CI === "true") throw new Error(`the real datasets are required in CI but ${d} lacks kvasir-seg/kavsir_bboxes.json or bccd/Annotations; set MEDFCL_SHARED_DIR or put shared/ beside the clone`);
  return `real datasets not found in ${d}; set MEDFCL_SHARED_DIR=/path/to/shared to run these tests`;
}
