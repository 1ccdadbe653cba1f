// Environment-dependent tests skip with a message locally and FAIL under CI=true: a skip in CI
// would hide a broken job. Each case runs a real test file as a child process with what it needs
// taken away, once with CI=true (it must fail, naming what is missing) and once without CI (it
// must pass, skipping).
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { inCi, required } from "../helpers/ci.js";
import { dockerRequired } from "../helpers/docker.js";
import { tempDir } from "../helpers/temp.js";

const root = new URL("../../", import.meta.url).pathname;
// A PATH with node and nothing else: node's own folder is not enough where it is /usr/bin, which
// also holds chromium and nats-server.
const nodeOnlyPath = tempDir("medfcl-node-only-");
symlinkSync(process.execPath, join(nodeOnlyPath, "node"));

const cases: { what: string; file: string; env: NodeJS.ProcessEnv }[] = [
  { what: "pydicom's sample files", file: "tests/services/privacy/dicom-corpus.test.ts", env: { MEDFCL_PYDICOM_TESTFILES: "/nonexistent" } },
  { what: "nats-server", file: "tests/integration/federation.test.ts", env: { PATH: nodeOnlyPath } },
  { what: "Chromium", file: "tests/services/eval/report-browser.test.ts", env: { PATH: nodeOnlyPath, MEDFCL_CHROMIUM: "" } },
  { what: "the shared datasets", file: "tests/services/data/real-data.test.ts", env: { MEDFCL_SHARED_DIR: "/nonexistent" } },
  { what: "mount(8) for a tmpfs", file: "tests/services/store/disk-full.test.ts", env: { PATH: nodeOnlyPath } },
];

function runTestFile(file: string, env: NodeJS.ProcessEnv): { status: number | null; output: string } {
  const { CI: _ci, MEDFCL_REQUIRE_DOCKER: _d, MEDFCL_REQUIRE_NATS: _n, MEDFCL_REQUIRE_BROWSER: _b, MEDFCL_REQUIRE_TMPFS: _f, NODE_TEST_CONTEXT: _t, ...base } = process.env;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-reporter=tap", file], { cwd: root, encoding: "utf8", env: { ...base, ...env }, timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("CI decides: missing requirements fail under CI=true and skip elsewhere", () => {
  for (const c of cases) {
    it(`ci - ${c.file} without ${c.what}: fails under CI=true, skips without CI`, () => {
      const ci = runTestFile(c.file, { ...c.env, CI: "true" });
      assert.notEqual(ci.status, 0, `under CI=true it passed:\n${ci.output.slice(-2000)}`);
      assert.match(ci.output, /required here/, ci.output.slice(-2000));
      const local = runTestFile(c.file, c.env);
      assert.equal(local.status, 0, `without CI it failed:\n${local.output.slice(-2000)}`);
      assert.match(local.output, /# SKIP/);
    });
  }

  it("ci - one helper reads CI, and the docker gate follows it", () => {
    const saved = { CI: process.env.CI, req: process.env.MEDFCL_REQUIRE_DOCKER };
    try {
      delete process.env.MEDFCL_REQUIRE_DOCKER;
      for (const [value, want] of [["true", true], ["1", true], ["false", false], ["0", false], ["", false]] as const) {
        process.env.CI = value;
        assert.equal(inCi(), want, `CI=${value}`);
        assert.equal(dockerRequired(), want, `docker required with CI=${value}`);
      }
      delete process.env.CI;
      assert.equal(required("MEDFCL_REQUIRE_DOCKER"), false);
      process.env.MEDFCL_REQUIRE_DOCKER = "1";
      assert.equal(dockerRequired(), true, "MEDFCL_REQUIRE_DOCKER=1 outside CI");
    } finally {
      if (saved.CI === undefined) delete process.env.CI;
      else process.env.CI = saved.CI;
      if (saved.req === undefined) delete process.env.MEDFCL_REQUIRE_DOCKER;
      else process.env.MEDFCL_REQUIRE_DOCKER = saved.req;
    }
  });
});
