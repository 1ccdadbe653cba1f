// `medfcl privacy deid-dicom` as a hospital script runs it: one process per file, over every file
// of pydicom's test corpus (MEDFCL_PYDICOM_TESTFILES; .ci/run unpacks Debian's python3-pydicom).
// It runs the built CLI, as a deployment does (tsx would double each start-up on ~100 files).
// Each process must exit by itself within 30 s, with either the de-identified file written or an
// error that names the file. It used to print "N change(s); wrote …" and then never exit on the
// files that make dcmjs log a warning (MR_small_implicit.dcm, rtdose.dcm, …).
import { strict as assert } from "node:assert";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { skipUnless } from "../helpers/ci.js";
import { runCli } from "../helpers/processes.js";
import { tempDir } from "../services/privacy/fixtures.js";

const EXIT_WITHIN_MS = 30_000;
const corpus = process.env.MEDFCL_PYDICOM_TESTFILES;
const builtCli = join(import.meta.dirname, "..", "..", "dist", "cli", "main.js");
const missing =
  corpus && existsSync(join(corpus, "CT_small.dcm"))
    ? existsSync(builtCli)
      ? false
      : "dist/ is not built (npm run build; make test builds first)"
    : `MEDFCL_PYDICOM_TESTFILES=${corpus ?? "(unset)"} does not hold pydicom's CT_small.dcm; set it to pydicom's data/test_files (apt-get download python3-pydicom && dpkg -x, as .ci/run does)`;

interface Exit {
  file: string;
  /** null: killed at the deadline. */
  code: number | null;
  ms: number;
  stdout: string;
  stderr: string;
}

async function deid(file: string, out: string, secretFile: string): Promise<Exit> {
  const started = Date.now();
  const r = await runCli(["privacy", "deid-dicom", join(corpus as string, file), "--out", out, "--secret-file", secretFile], { MEDFCL_LOG_LEVEL: "silent" }, EXIT_WITHIN_MS, { built: true });
  return { file, ...r, ms: Date.now() - started };
}

/** Runs `work` over `items`, `limit` at a time. */
async function pool<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const lanes = Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]);
    }
  });
  await Promise.all(lanes);
  return results;
}

describe("privacy deid-dicom as a process", { skip: skipUnless("the pydicom corpus test of deid-dicom", missing), timeout: 900_000 }, () => {
  it("privacy deid-dicom - exits within 30 s on every pydicom test file, with the output written or an error naming the file", async (t) => {
    const dir = corpus as string;
    const files = readdirSync(dir)
      .filter((f) => statSync(join(dir, f)).isFile())
      .sort();
    assert.ok(files.length >= 60, `expected pydicom's test corpus in ${dir}, found ${files.length} files`);
    const work = tempDir();
    const secretFile = join(work, "site.secret");
    writeFileSync(secretFile, "a-site-secret-of-some-length\n");

    const exits = await pool(files, 2, (f) => deid(f, join(work, `${f}.deid.dcm`), secretFile));
    const slowest = [...exits].sort((a, b) => b.ms - a.ms).slice(0, 5);
    t.diagnostic(`slowest: ${slowest.map((e) => `${e.file} ${e.ms} ms (exit ${e.code ?? "killed"})`).join(", ")}`);

    const hung = exits.filter((e) => e.code === null).map((e) => `${e.file} (killed after ${e.ms} ms; stdout: ${e.stdout.trim().split("\n").at(-1) ?? ""})`);
    assert.deepEqual(hung, [], `deid-dicom did not exit within ${EXIT_WITHIN_MS} ms`);
    for (const e of exits) {
      if (e.code === 0) {
        assert.match(e.stdout, /\d+ change\(s\); wrote /, e.file);
        assert.ok(existsSync(join(work, `${e.file}.deid.dcm`)), `${e.file}: exit 0 but no output`);
      } else {
        assert.ok(e.code === 1 || e.code === 2, `${e.file}: exit ${e.code}; stderr: ${e.stderr}`);
        assert.ok(e.stderr.includes(`medfcl: error: ${join(dir, e.file)}`), `${e.file}: the error must name the file; stderr: ${e.stderr}`);
      }
    }
    // The six files that used to hang are de-identified, not merely refused.
    for (const f of ["MR_small_implicit.dcm", "SC_rgb_jpeg_dcmd.dcm", "meta_missing_tsyntax.dcm", "nested_priv_SQ.dcm", "rtdose.dcm", "rtdose_1frame.dcm"]) {
      assert.equal(exits.find((e) => e.file === f)?.code, 0, f);
    }
  });
});
