import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { boxIou, compareBoxes, convertYolo, imageAgreement, loadCocoDataset } from "../../../services/data/index.js";
import { rgbImage, tempDir, writeImage } from "./helpers.js";

describe("data compare", () => {
  it("compare - IoU of boxes, and a missing or extra box scores 0", () => {
    assert.equal(boxIou([0, 0, 10, 10], [5, 0, 10, 10]), 50 / 150);
    assert.equal(boxIou([0, 0, 10, 10], [20, 20, 5, 5]), 0);
    assert.equal(imageAgreement([[0, 0, 10, 10]], [[0, 0, 10, 10]]), 1);
    // One box matched exactly, one box only on one side: (1 + 0) / 2.
    assert.equal(imageAgreement([[0, 0, 10, 10], [50, 50, 5, 5]], [[0, 0, 10, 10]]), 0.5);
    // The one-to-one matching pairs each box with its best partner, not both with the same.
    assert.equal(imageAgreement([[0, 0, 10, 10], [20, 0, 10, 10]], [[20, 0, 10, 10], [0, 0, 10, 10]]), 1);
    assert.equal(imageAgreement([], []), 1);
  });

  it("compare - median over the images both datasets hold; the CLI exits 1 under --min-median", async () => {
    const root = tempDir();
    for (const n of ["a", "b", "c", "d"]) await writeImage(join(root, `images/${n}.png`), 20, 20, rgbImage(20, 20, [90, 40, 40]), "png");
    const labels = (dir: string, rows: Record<string, string>): void => {
      for (const [n, line] of Object.entries(rows)) writeFileSync(join(dir, `${n}.txt`), line);
    };
    const la = join(root, "la");
    const lb = join(root, "lb");
    mkdirSync(la);
    mkdirSync(lb);
    labels(la, { a: "0 0.5 0.5 0.5 0.5\n", b: "0 0.5 0.5 0.5 0.5\n", c: "0 0.5 0.5 0.5 0.5\n" });
    // b: shifted by half a box (IoU 1/3); c: no box; d: only in the second set's labels (no box in the first).
    labels(lb, { a: "0 0.5 0.5 0.5 0.5\n", b: "0 0.75 0.5 0.5 0.5\n", d: "0 0.5 0.5 0.5 0.5\n" });
    await convertYolo({ images: join(root, "images"), labels: la, classes: ["polyp"], out: join(root, "A") });
    await convertYolo({ images: join(root, "images"), labels: lb, classes: ["polyp"], out: join(root, "B") });
    const r = compareBoxes(await loadCocoDataset(join(root, "A")), await loadCocoDataset(join(root, "B")));
    // Scores: a 1, b 1/3, c 0 (box vs none), d 0 (none vs box) -> median (0 + 1/3) / 2.
    assert.equal(r.images, 4);
    assert.equal(r.countMismatch, 2);
    assert.ok(Math.abs(r.median - 1 / 6) < 1e-12, String(r.median));
    const cli = (min: string): number | null =>
      spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", "data", "compare", join(root, "A"), join(root, "B"), "--min-median", min], { encoding: "utf8" }).status;
    assert.equal(cli("0.1"), 0);
    assert.equal(cli("0.9"), 1);
  });
});
