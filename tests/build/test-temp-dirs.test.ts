// The suite's temp folders go away with the test process (a full run used to leave its state dirs,
// synthesized suites and SQLite files in /tmp, run after run), unless MEDFCL_KEEP_TEST_TMP=1.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

const helper = new URL("../helpers/temp.ts", import.meta.url).pathname;

/** A child process that makes two temp folders with a file in each, prints their paths and exits. */
function makeTwoAndExit(env: NodeJS.ProcessEnv): string[] {
  const script = `import { writeFileSync } from "node:fs"; import { join } from "node:path"; import { tempDir } from ${JSON.stringify(helper)};
const dirs = [tempDir("medfcl-temp-test-"), tempDir("medfcl-temp-test-")];
for (const d of dirs) writeFileSync(join(d, "state.sqlite"), "x");
process.stdout.write(JSON.stringify(dirs));`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as string[];
}

describe("test temp folders", () => {
  it("test temp folders - are removed, contents and all, when the process exits", () => {
    const dirs = makeTwoAndExit({ MEDFCL_KEEP_TEST_TMP: "" });
    assert.equal(dirs.length, 2);
    for (const d of dirs) assert.equal(existsSync(d), false, `${d} is still there`);
  });

  it("test temp folders - stay for a post-mortem with MEDFCL_KEEP_TEST_TMP=1", () => {
    const dirs = makeTwoAndExit({ MEDFCL_KEEP_TEST_TMP: "1" });
    for (const d of dirs) assert.equal(readFileSync(join(d, "state.sqlite"), "utf8"), "x");
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
});
