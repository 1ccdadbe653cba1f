import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const created = new Set<string>();

/** Removes every folder tempDir made; `node --test` runs each file in its own process, so this runs when the file's tests end. */
function removeCreated(): void {
  for (const dir of created) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
    } catch {
      // A child process still writing there must not turn a passing file into a failing one.
    }
  }
}

/**
 * A fresh folder under the OS temp dir, removed when the test process exits, so repeated runs do not
 * fill the disk (a full run used to leave its state dirs, suites and databases behind: GiBs). MEDFCL_KEEP_TEST_TMP=1 keeps them
 * for a post-mortem.
 */
export function tempDir(prefix = "medfcl-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (created.size === 0 && process.env.MEDFCL_KEEP_TEST_TMP !== "1") process.once("exit", removeCreated);
  created.add(dir);
  return dir;
}
