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
