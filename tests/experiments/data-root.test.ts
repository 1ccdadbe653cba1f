/**
 * `--data-root`: the experiments run unchanged on a suite of COCO folders that the synthesizer did
 * not make (here: three "hospitals" written by hand, one of them test-only), through a real
 * coordinator and agent processes.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { dataFingerprint, suiteOfDataRoot } from "../../experiments/index.js";
import { parseCrossMatrix } from "../../services/eval/index.js";
import { POLYP_PROMPT, writeDataset, type FixtureImage } from "../services/data/helpers.js";
import { tempDir } from "../helpers/temp.js";

const root = new URL("../..", import.meta.url).pathname;
const dir = tempDir("medfcl-data-root-");
const suite = join(dir, "suite");

function images(n: number, seed: number): FixtureImage[] {
  return Array.from({ length: n }, (_, i) => {
    const x = (seed * 7 + i * 5) % 30;
    return { file: `images/${i}.png`, width: 64, height: 48, format: "png", boxes: [[x + 4, 8 + (i % 3) * 4, 16, 14]] };
  });
}

function listing(d: string): string[] {
  return readdirSync(d, { recursive: true }).map(String).sort();
}

function medfcl(args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", ...args], { cwd: root, encoding: "utf8", env: { ...process.env, MEDFCL_LOG_PRETTY: "0" }, maxBuffer: 64 * 1024 * 1024 });
}

describe("experiment --data-root", () => {
  before(async () => {
    const domains = [
      { name: "hospital-a", role: "train", seed: 1 },
      { name: "hospital-b", role: "train", seed: 2 },
      { name: "hospital-c", role: "test-only", seed: 3 },
    ];
    for (const d of domains) {
      if (d.role === "train") await writeDataset(join(suite, d.name, "train"), images(10, d.seed));
      await writeDataset(join(suite, d.name, "test"), images(4, d.seed + 10));
    }
    const index = {
      suite: "polyp",
      seed: 0,
      scale: "real",
      domains: domains.map((d) => ({
        name: d.name,
        task: "polyp",
        role: d.role,
        prompt: POLYP_PROMPT,
        splits: { test: `${d.name}/test`, ...(d.role === "train" ? { train: `${d.name}/train` } : {}) },
        counts: { test: 4, ...(d.role === "train" ? { train: 10 } : {}) },
      })),
    };
    writeFileSync(join(suite, "suite.json"), JSON.stringify(index, null, 2));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("data-root - cross-domain runs on a hand-made COCO suite, uses its domain names, and leaves it untouched", { timeout: 600_000 }, () => {
    const before = listing(suite);
    const out = join(dir, "out");
    const r = medfcl(["experiment", "cross-domain", "--model", "nano", "--data-root", suite, "--scale", "tiny", "--epochs", "1", "--max-steps", "1", "--batch-size", "4", "--seed", "5", "--out", out]);
    assert.equal(r.status, 0, `exit ${r.status}\n${r.stderr.slice(-4000)}`);
    const m = parseCrossMatrix(JSON.parse(readFileSync(join(out, "cross-domain", "matrix.json"), "utf8")), "matrix.json");
    assert.deepEqual(m.train, ["hospital-a", "hospital-b"]);
    assert.deepEqual(m.test, ["hospital-a", "hospital-b", "hospital-c"]);
    assert.ok(m.ap.flat().every((v) => v !== null && Number.isFinite(v) && v >= 0 && v <= 100));
    assert.ok(!existsSync(join(out, ".data")), "nothing was synthesized");
    assert.deepEqual(listing(suite), before, "the data root is read, never written");
    const experiment = JSON.parse(readFileSync(join(out, "experiment.json"), "utf8")) as { data: string };
    assert.equal(experiment.data, suite);
  });

  it("data-root - with --sequence the tables train the named domains only, and name the user's data root and sequence, not the view", { timeout: 600_000 }, () => {
    const out = join(dir, "out-sequence");
    const r = medfcl(["experiment", "cross-domain", "--model", "nano", "--data-root", suite, "--sequence", "hospital-b", "--scale", "tiny", "--epochs", "1", "--max-steps", "1", "--batch-size", "4", "--seed", "5", "--out", out]);
    assert.equal(r.status, 0, `exit ${r.status}\n${r.stderr.slice(-4000)}`);
    const m = parseCrossMatrix(JSON.parse(readFileSync(join(out, "cross-domain", "matrix.json"), "utf8")), "matrix.json");
    assert.deepEqual(m.train, ["hospital-b"]);
    const experiment = JSON.parse(readFileSync(join(out, "experiment.json"), "utf8")) as { data: string; options: { sequence: string[] } };
    assert.equal(experiment.data, suite);
    assert.deepEqual(experiment.options.sequence, ["hospital-b"]);
    const header = readFileSync(join(out, "results.md"), "utf8").split("\n")[0];
    assert.equal(header, `# medfcl experiment cross-domain (--data-root ${suite} --sequence hospital-b)`);
  });

  it("data-root - rehearsal on records nobody marked shareable says its replay buffer stayed empty", { timeout: 600_000 }, () => {
    const out = join(dir, "out-rehearsal");
    const r = medfcl(["experiment", "paradigms", "--only", "rehearsal", "--model", "nano", "--data-root", suite, "--scale", "tiny", "--epochs", "1", "--max-steps", "1", "--batch-size", "4", "--seed", "5", "--out", out]);
    assert.equal(r.status, 0, `exit ${r.status}\n${r.stderr.slice(-4000)}`);
    const run = JSON.parse(readFileSync(join(out, "seeds/seed-5/runs/rehearsal/run.json"), "utf8")) as { replay: { requested: number; received: number; received_per_step: Record<string, number> } };
    // Two training hospitals: the first step asks for the buffer's 100, the last step asks for none.
    assert.deepEqual(run.replay, { requested: 100, received: 0, received_per_step: { "0": 0 } });
    const results = readFileSync(join(out, "results.md"), "utf8");
    assert.match(results, /\*\*Warning: the replay buffer stayed empty in rehearsal \(seed 5\)\.\*\*/);
    assert.match(results, /medfcl data split --shareable/);
    assert.match(r.stdout + r.stderr, /the replay buffer stayed empty in these runs/);
    // The coordinator said so when the step closed, where an operator watching the run sees it.
    assert.match(readFileSync(join(out, "seeds/seed-5/logs/coordinator.log"), "utf8"), /"step":0,.*"requested":100,.*no exemplar arrived for the replay buffer/);
  });

  it("data-root - --generator applies to the synthetic suite only, and names the versions it knows", () => {
    const r = medfcl(["experiment", "paradigms", "--data-root", suite, "--generator", "3", "--out", join(dir, "never")]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--generator picks the synthetic suite's generator; it does not apply with --data-root/);
    const bad = medfcl(["experiment", "paradigms", "--generator", "9", "--out", join(dir, "never")]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--generator must be one of 2, 3, 5, 6, got 9/);
    assert.ok(!existsSync(join(dir, "never")));
    // Stored runs are keyed by the version: a v3 run never reuses a v2 one.
    const o = { suite: "polyp" as const, scale: "small" as const };
    assert.equal(dataFingerprint(o, 1), "synthetic:polyp:small:seed1:generator2");
    assert.equal(dataFingerprint({ ...o, generator: 3 }, 1), "synthetic:polyp:small:seed1:generator3");
  });

  it("data-root - the suite.json's own name (polyp or tasks) picks the paper's table and reference numbers", () => {
    assert.equal(suiteOfDataRoot(suite), "polyp");
    const tasks = join(dir, "tasks-suite");
    const other = join(dir, "other-suite");
    const index = JSON.parse(readFileSync(join(suite, "suite.json"), "utf8")) as { suite: string };
    for (const [d, name] of [[tasks, "tasks"], [other, "consortium-2026"]] as const) {
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, "suite.json"), JSON.stringify({ ...index, suite: name }));
    }
    assert.equal(suiteOfDataRoot(tasks), "tasks");
    assert.equal(suiteOfDataRoot(other), undefined, "a suite of another name leaves --suite (or its default) to decide");
    assert.equal(suiteOfDataRoot(join(dir, "nowhere")), undefined, "a missing suite.json is parseExperimentOptions' to report");
    const help = medfcl(["experiment", "paradigms", "--help"]);
    assert.match(help.stdout.replace(/\s+/g, " "), /with --data-root, the one its suite\.json names/);
  });

  it("data-root - a folder without suite.json is refused up front, naming the folder and what to do", () => {
    const r = medfcl(["experiment", "paradigms", "--data-root", dir, "--out", join(dir, "never")]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`${dir} has no suite.json`));
    assert.match(r.stderr, /docs\/data\.md|medfcl data synth/);
    assert.ok(!existsSync(join(dir, "never")));
  });
});
