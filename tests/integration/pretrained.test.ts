// The pretrained foundation through the real federation: `simulate` starts a coordinator that imports
// yolox-nano from its published weights and two agent processes (mTLS) that fine-tune it; every
// version is evaluated centrally through its ONNX export.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseCheckpoint } from "../../services/model/index.js";
import { haveShared, YOLOX_NANO_ONNX } from "../helpers/shared.js";
import { tempDir } from "../helpers/temp.js";

const root = new URL("../..", import.meta.url).pathname;

describe("pretrained base through the federation", { timeout: 600_000 }, () => {
  if (!haveShared("pretrained federation", [YOLOX_NANO_ONNX()])) return;

  it("federation - a sequential run on yolox-nano: the coordinator imports the base, agents fine-tune it, R fills", async () => {
    const out = tempDir("medfcl-pretrained-");
    const args = ["simulate", "--suite", "polyp", "--sites", "2", "--strategy", "sequential", "--seed", "2", "--scale", "tiny", "--epochs", "1",
      "--model", "yolox-nano", "--base-weights", YOLOX_NANO_ONNX(), "--input-size", "128", "--data-root", join(out, "data"), "--out", join(out, "run")];
    const r = spawnSync(process.execPath, ["--import", "tsx", join(root, "cli/main.ts"), ...args], { cwd: root, encoding: "utf8", env: { ...process.env, MEDFCL_LOG_PRETTY: "0" } });
    assert.equal(r.status, 0, `simulate failed:\n${r.stderr.slice(-3000)}`);
    const run = JSON.parse(readFileSync(join(out, "run", "run.json"), "utf8")) as { model: string; hyperparameters: Record<string, number>; base_version: string };
    assert.equal(run.model, "yolox-nano");
    assert.equal((JSON.parse(readFileSync(join(out, "run", "simulation.json"), "utf8")) as { runs: { state: string }[] }).runs[0].state, "completed");
    assert.equal(run.hyperparameters.freezeStages, 2);
    const base = parseCheckpoint(readFileSync(join(out, "run", "coordinator", "blobs", run.base_version.slice(0, 2), run.base_version)), "base");
    assert.equal(base.config.size, "yolox-nano");
    assert.equal(base.config.inputSize, 128);
    assert.equal(base.config.backbone?.sourceSha256, "695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14");
    const R = JSON.parse(readFileSync(join(out, "run", "R.json"), "utf8")) as { ap: number[][]; domains: string[] };
    const b = JSON.parse(readFileSync(join(out, "run", "base.json"), "utf8")) as Record<string, number>;
    assert.equal(R.ap.length, 2);
    for (const row of R.ap) for (const v of row) assert.ok(Number.isFinite(v) && v >= 0 && v <= 100);
    // Fine-tuning changed what the model detects on the first site's domain.
    assert.notEqual(R.ap[0][R.domains.indexOf("kvasir")], b.kvasir);
  });
});
