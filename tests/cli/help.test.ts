import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Command } from "commander";
import { buildProgram } from "../../cli/program.js";
import { tempDir } from "../helpers/temp.js";

function walk(cmd: Command, path: string[] = []): { path: string[]; cmd: Command }[] {
  return [{ path, cmd }, ...cmd.commands.flatMap((c) => walk(c, [...path, c.name()]))];
}

describe("cli", () => {
  it("cli - every command and subcommand has --help with an example", () => {
    const missing: string[] = [];
    for (const { path, cmd } of walk(buildProgram())) {
      let text = "";
      cmd.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
      cmd.outputHelp();
      if (!/Examples?:\n\s+\$ /.test(text)) missing.push(`medfcl ${path.join(" ")}`.trim());
    }
    assert.deepEqual(missing, []);
  });

  it("cli - simulate refuses an unknown --model before it writes or starts anything (exit 2, naming the flag)", () => {
    const out = join(tempDir("medfcl-cli-"), "run");
    const r = spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", "simulate", "--model", "yolo", "--out", out], { encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--model must be one of nano, small, yolox-nano, got "yolo"/);
    assert.equal(existsSync(out), false, "nothing written");
  });

  it("cli - simulate refuses an unknown --strategy or --compare, and a bad strategy option, before it writes anything (exit 2)", () => {
    const out = join(tempDir("medfcl-cli-"), "run");
    const r = spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", "simulate", "--strategy", "fedprox", "--out", out], { encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--strategy must name one of specialized, joint, sequential, rehearsal, got "fedprox"/);
    const c = spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", "simulate", "--strategy", "sequential", "--compare", "rehersal", "--out", out], { encoding: "utf8" });
    assert.equal(c.status, 2);
    assert.match(c.stderr, /--compare must name one of .*got "rehersal"/);
    const m = spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", "simulate", "--strategy", "rehearsal", "--mix", "0.99", "--out", out], { encoding: "utf8" });
    assert.equal(m.status, 2);
    assert.match(m.stderr, /"mix" must be a number in \[0, 0.95\]/);
    assert.equal(existsSync(out), false, "nothing written");
  });

  it("cli - experiment refuses an unknown --only paradigm before it generates any data (exit 2, naming it)", () => {
    const out = join(tempDir("medfcl-cli-"), "exp");
    const r = spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", "experiment", "paradigms", "--scale", "tiny", "--only", "specialized,rehersal", "--out", out], { encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--only: unknown paradigm "rehersal"; this plan has specialized, joint/);
    assert.equal(existsSync(join(out, ".data")), false, "no suite was synthesized");
    // A budget label (its number needs the suite's domain count) is checked once the data is known;
    // --epochs pins it (5 domains x 3 epochs), since the default depends on which model is installed.
    const b = spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", "experiment", "paradigms", "--scale", "tiny", "--epochs", "3", "--only", "joint-7-rounds", "--out", out], { encoding: "utf8" });
    assert.equal(b.status, 2);
    assert.match(b.stderr, /--only: unknown paradigm "joint-7-rounds"; this plan has .*joint-15-rounds/);
  });

  it("cli - medfcl --help lists the command groups of the design", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", "--help"], { encoding: "utf8" });
    assert.equal(r.status, 0);
    for (const name of ["coordinator", "agent", "simulate", "data", "train", "predict", "export", "eval", "audit", "pki", "privacy", "experiment", "runs"]) {
      assert.match(r.stdout, new RegExp(`^  ${name}\\b`, "m"), `medfcl --help lacks ${name}`);
    }
  });

  it("cli - an unknown command exits 2 with a hint", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", "frobnicate"], { encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command/);
  });

  it("cli - a malformed numeric flag is a usage error naming the flag, not a crash", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", "simulate", "--sites", "2.5"], { encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^medfcl: error: --sites expects a whole number, got "2\.5"/);
    assert.doesNotMatch(r.stderr, /at Option\.parseArg/);
  });
});
