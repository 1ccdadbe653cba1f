import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { tempDir } from "../../helpers/temp.js";

const run = promisify(execFile);
const root = join(import.meta.dirname, "../../..");
const CASE = join(root, "tests/fixtures/coco-eval/public/case_002");

async function medfcl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "cli/main.ts", ...args], { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("eval cli", () => {
  it("eval cli - coco --json prints the stats and per-category AP of pycocotools", async () => {
    const r = await medfcl(["eval", "coco", "--gt", join(CASE, "gt.json"), "--dt", join(CASE, "dt.json"), "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const expected = JSON.parse(readFileSync(join(CASE, "expected.json"), "utf8"));
    const got = JSON.parse(r.stdout);
    assert.equal(got.stats.length, 12);
    got.stats.forEach((v: number, i: number) => assert.ok(Math.abs(v - expected.stats[i]) <= 1e-9));
    assert.deepEqual(Object.keys(got.per_category_ap).sort(), Object.keys(expected.per_category_ap).sort());
  });

  it("eval cli - audit metrics --json has the documented shape; a bad cell names file and cell", async () => {
    const dir = tempDir("medfcl-cli-");
    writeFileSync(join(dir, "R.json"), JSON.stringify({ steps: ["s1", "s2"], domains: ["A", "B"], ap: [[50, 10], [40, 60]] }));
    writeFileSync(join(dir, "base.json"), JSON.stringify({ A: 1, B: 4 }));
    const r = await medfcl(["audit", "metrics", "--matrix", join(dir, "R.json"), "--base", join(dir, "base.json"), "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { acc: 50, bwt: -10, fwt: 6, forgetting: { per_domain: { A: 10, B: null }, mean: 10 }, avg_ap_per_step: [30, 50] });
    writeFileSync(join(dir, "bad.json"), JSON.stringify({ steps: ["s1"], domains: ["A"], ap: [["x"]] }));
    const bad = await medfcl(["audit", "metrics", "--matrix", join(dir, "bad.json")]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /bad\.json.*ap\[0\]\[0\]/);
  });
});
