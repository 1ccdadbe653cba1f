// `medfcl train --eval-data --curve`: the learning curve the epoch rule reads, with the settings
// it was measured at (an ablation's curve must say what it ablated).
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { synthesizeSuite } from "../../services/data/index.js";
import { runCli } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp.js";

describe("train curve", () => {
  it("train curve - writes held-out AP per epoch with the augmentation and EMA it was trained with", async () => {
    const dir = tempDir("medfcl-train-curve-");
    await synthesizeSuite({ suite: "polyp", out: dir, seed: 3, scale: "tiny", domains: ["kvasir"] });
    const curve = join(dir, "curve.json");
    const args = ["train", "--model", "nano", "--data", join(dir, "kvasir", "train"), "--eval-data", join(dir, "kvasir", "test"), "--epochs", "2", "--batch-size", "8", "--size", "64"];
    const r = await runCli([...args, "--augment", "none", "--curve", curve, "--out", join(dir, "a.safetensors")], {}, 180_000);
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(readFileSync(curve, "utf8")) as { augment: unknown; emaDecay: unknown; inputSize: number; curve: { epoch: number; ap: number }[] };
    assert.equal(c.augment, false);
    assert.equal(typeof c.emaDecay, "number");
    assert.equal(c.inputSize, 64);
    assert.deepEqual(c.curve.map((p) => p.epoch), [1, 2]);
    for (const p of c.curve) assert.ok(p.ap >= 0 && p.ap <= 100, `AP ${p.ap}`);

    const r2 = await runCli([...args, "--augment", "scale=0.4,color=0", "--curve", curve, "--out", join(dir, "b.safetensors")], {}, 180_000);
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual((JSON.parse(readFileSync(curve, "utf8")) as { augment: unknown }).augment, { flip: true, scaleJitter: 0.4, colorJitter: 0 });
  });
});
