/**
 * End to end: `medfcl experiment paradigms --scale tiny` through a real coordinator, five agent
 * processes, mTLS and (when installed) NATS. Only that it completes and writes every file; no
 * ordering is asserted at tiny scale (one optimiser step per task cannot learn anything).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseAccuracyMatrix, parseCrossMatrix, parseParadigmTable } from "../../services/eval/index.js";
import { tempDir } from "../helpers/temp.js";

const root = new URL("../..", import.meta.url).pathname;
const dir = tempDir("medfcl-experiment-");
const out = join(dir, "paradigms");
const args = ["--import", "tsx", "cli/main.ts", "experiment", "paradigms", "--model", "nano", "--scale", "tiny", "--epochs", "1", "--max-steps", "1", "--batch-size", "4", "--shots", "8", "--seed", "3", "--out", out];
const runExperimentCli = () => spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", env: { ...process.env, MEDFCL_LOG_PRETTY: "0" }, maxBuffer: 64 * 1024 * 1024 });

describe("experiment paradigms", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("experiment - paradigms --scale tiny completes and writes every table, figure and report", { timeout: 600_000 }, () => {
    const r = runExperimentCli();
    assert.equal(r.status, 0, `exit ${r.status}\n${r.stderr.slice(-4000)}`);
    assert.match(r.stdout, /experiment paradigms finished/);

    const read = (rel: string): unknown => JSON.parse(readFileSync(join(out, rel), "utf8"));
    const table = parseParadigmTable(read("paradigms.json"), "paradigms.json");
    assert.equal(table.domains.length, 8, "all 8 polyp domains, test-only ones included");
    assert.deepEqual(table.rows.map((x) => x.paradigm), [
      "zero-shot",
      "specialized",
      "joint",
      "joint-8",
      "joint-central",
      "joint-central-8",
      "sequential",
      "rehearsal",
      "rehearsal-class-balanced",
      "rehearsal-herding",
      "joint-8-kcenter",
      "joint-5-rounds",
      "specialized-5-epochs",
      "joint-8-5-rounds",
      "joint-8-kcenter-5-rounds",
    ]);
    for (const row of table.rows) {
      assert.ok(row.avg !== null, `${row.paradigm} has an average`);
      const continual = row.paradigm === "sequential" || row.paradigm.startsWith("rehearsal");
      assert.equal(row.bwt !== null, continual, `${row.paradigm}: BWT only for continual runs`);
    }
    const m = parseCrossMatrix(read("cross-domain/matrix.json"), "matrix.json");
    assert.equal(m.train.length, 5);
    assert.equal(m.test.length, 8);
    for (const name of ["sequential", "rehearsal", "rehearsal-class-balanced", "rehearsal-herding"]) {
      assert.equal(parseAccuracyMatrix(read(`${name}/R.json`), `${name}/R.json`).steps.length, 5);
    }
    for (const rel of [
      "paradigms.csv",
      "paradigms.md",
      "paradigms-std.json",
      "cross-domain/matrix.csv",
      "cross-domain/matrix.md",
      "specialized-5-epochs/matrix.json",
      "specialized-5-epochs/matrix.md",
      "experiment.json",
      "results.md",
      "seeds/seed-3/paradigms.json",
      "seeds/seed-3/runs/joint-8-kcenter/R.json",
      "seeds/seed-3/joint-central/runs/joint-central/R.json",
      "seeds/seed-3/joint-central-8/runs/joint-central-8/R.json",
      "report/report.md",
      "report/report.html",
      "report/fig-cross-domain.svg",
      "report/fig-cross-domain.png",
      "report/fig-R-heatmap-sequential.svg",
      "report/fig-R-heatmap-rehearsal.png",
    ]) {
      assert.ok(existsSync(join(out, rel)), `${rel} is written`);
    }
    const results = readFileSync(join(out, "results.md"), "utf8");
    assert.match(results, /Paradigms \(paper Table 3\)/);
    assert.match(results, /Cross-domain \(paper Table 1/);
    assert.match(results, /Cross matrix of `specialized-5-epochs`/);
    // Tiny sites hold 12–24 images, so --shots 8 makes the few-shot runs real subsets; the k-center
    // run's agents chose theirs by embeddings, and the agent log says so.
    const logs = ["site-1-kvasir", "site-5-singan"].map((s) => readFileSync(join(out, "seeds/seed-3/logs", `${s}.log`), "utf8")).join("\n");
    assert.match(logs, /"selection":"kcenter","images":8/);
    assert.match(logs, /"selection":"random","images":8/);
    // The synthetic sites' records are shareable: rehearsal's buffer filled, and no warning.
    const replay = (JSON.parse(readFileSync(join(out, "seeds/seed-3/runs/rehearsal/run.json"), "utf8")) as { replay: { requested: number; received: number } }).replay;
    assert.ok(replay.requested > 0 && replay.received > 0, `rehearsal asked for and received exemplars: ${JSON.stringify(replay)}`);
    assert.doesNotMatch(results, /replay buffer stayed empty/);
    // Later rehearsal runs get fresh agents, so their sites still export exemplars (a reused
    // agent's privacy filter would refuse them all as duplicates of the first run's).
    for (const session of ["session-2", "session-3"]) {
      const log = readFileSync(join(out, "seeds/seed-3", session, "logs/site-1-kvasir.log"), "utf8");
      assert.match(log, /"accepted":[1-9]/, `${session}: the site's exemplars reach the coordinator`);
    }
    // The centralised runs train one site on the pooled data: every training domain's images (8 of
    // each for the few-shot pool), evaluated on all 8 domains like the federated runs.
    const pool = JSON.parse(readFileSync(join(out, ".data/pooled-seed3-8shots/annotations.json"), "utf8")) as { images: unknown[]; info: { per_part: Record<string, number> } };
    assert.deepEqual(pool.info.per_part, { kvasir: 8, clinicdb: 8, bkai: 8, sessile: 8, singan: 8 });
    assert.equal(pool.images.length, 40);
    const central = JSON.parse(readFileSync(join(out, "seeds/seed-3/joint-central/simulation.json"), "utf8")) as { sites: string[] };
    assert.deepEqual(central.sites, ["site-1-pooled"]);
    assert.equal(parseAccuracyMatrix(read("seeds/seed-3/joint-central/runs/joint-central/R.json"), "R.json").domains.length, 8);
  });

  it("experiment - a rerun after an interruption redoes no stored run", { timeout: 600_000 }, () => {
    const before = readFileSync(join(out, "paradigms.json"), "utf8");
    // As if the experiment had been killed during its sequential run: that run was never stored.
    const storeRoot = join(out, "store");
    const keys = readdirSync(storeRoot);
    assert.equal(keys.length, 14, "one stored folder per run (the table's 15 rows less zero-shot, which is the base model's row)");
    const sequential = keys.find((k) => (JSON.parse(readFileSync(join(storeRoot, k, "config.json"), "utf8")) as { config: { label: string } }).config.label === "sequential");
    assert.ok(sequential, "the sequential run is stored under its key");
    rmSync(join(storeRoot, sequential), { recursive: true });

    const r = runExperimentCli();
    assert.equal(r.status, 0, `exit ${r.status}\n${r.stderr.slice(-4000)}`);
    const started = (r.stdout + r.stderr).split("\n").filter((l) => l.includes('"msg":"run started"'));
    assert.equal(started.length, 1, `only the missing run runs again:\n${started.join("\n")}`);
    assert.match(started[0], /"strategy":"sequential"/);
    assert.match(r.stdout + r.stderr, /13 of 14 runs are stored and will not run again/);
    assert.ok(existsSync(join(storeRoot, sequential, "R.json")), "the rerun stores the run under the same key");
    // Training is deterministic, so the redone run reproduces the table exactly.
    assert.equal(readFileSync(join(out, "paradigms.json"), "utf8"), before);
  });
});
