import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assembleSuite, assignEveryNth, assignSplits, convertYolo, readGroupFile, readSuiteIndex, splitDataset, DataArgumentError } from "../../../services/data/index.js";
import { rgbImage, tempDir, writeImage } from "./helpers.js";

const ids = Array.from({ length: 100 }, (_, i) => `img${String(i).padStart(3, "0")}`);

describe("data split", () => {
  it("split - fractions are met and the same seed gives the same assignment", () => {
    const a = assignSplits(ids, { test: 0.2, val: 0.1, seed: 3 });
    const b = assignSplits([...ids].reverse(), { test: 0.2, val: 0.1, seed: 3 });
    assert.deepEqual([...a].sort(), [...b].sort());
    const count = (s: string): number => [...a.values()].filter((v) => v === s).length;
    assert.deepEqual([count("train"), count("val"), count("test")], [70, 10, 20]);
    const c = assignSplits(ids, { test: 0.2, val: 0.1, seed: 4 });
    assert.notDeepEqual([...a].sort(), [...c].sort());
  });

  it("split - a group never straddles two splits", () => {
    // 20 groups of 5 ids (e.g. frames of one patient).
    const groups = new Map(ids.map((id, i) => [id, `patient${Math.floor(i / 5)}`]));
    for (const seed of [0, 1, 2, 3, 4]) {
      const a = assignSplits(ids, { test: 0.3, seed, groups });
      for (let g = 0; g < 20; g++) assert.equal(new Set(ids.slice(g * 5, g * 5 + 5).map((id) => a.get(id))).size, 1);
      assert.equal([...a.values()].filter((v) => v === "test").length, 30);
    }
  });

  it("split - every 5th id by sorted order is test, whatever order the ids come in; every 5th of the rest is val", () => {
    const shuffled = [...ids].sort((a, b) => (a.slice(-1) < b.slice(-1) ? -1 : a.slice(-1) > b.slice(-1) ? 1 : a < b ? -1 : 1));
    const a = assignEveryNth(shuffled, 5);
    assert.deepEqual([...a].filter(([, s]) => s === "test").map(([id]) => id).sort(), ids.filter((_, i) => i % 5 === 4));
    assert.ok([...a.values()].every((s) => s !== "val"));
    const v = assignEveryNth(ids, 5, 4);
    const count = (s: string): number => [...v.values()].filter((x) => x === s).length;
    assert.deepEqual([count("train"), count("val"), count("test")], [60, 20, 20]);
    assert.equal(v.get("img004"), "test");
    assert.equal(v.get("img003"), "val"); // the 4th of the non-test ids img000..img003
    assert.throws(() => assignEveryNth(ids, 1), /--every must be an integer >= 2/);
  });

  it("split - --every and an explicit assignment write only the splits they use", async () => {
    const root = tempDir();
    for (const n of ["a", "b", "c", "d", "e", "f"]) await writeImage(join(root, `images/${n}.png`), 16, 16, rgbImage(16, 16, [n.charCodeAt(0), 50, 60]), "png");
    const conv = join(root, "conv");
    await convertYolo({ images: join(root, "images"), labels: join(root, "labels"), classes: ["polyp"], out: conv });
    const every = await splitDataset({ src: conv, out: join(root, "every"), seed: 0, every: { test: 3 } });
    assert.deepEqual(every.counts, { train: 4, test: 2 });
    const split = JSON.parse(readFileSync(join(root, "every", "split.json"), "utf8")) as { rule: string; ids: Record<string, string[]> };
    assert.equal(split.rule, "every");
    assert.deepEqual(split.ids.test, ["c", "f"]);
    const only = await splitDataset({ src: conv, out: join(root, "only"), seed: 0, assignment: new Map(["a", "b", "c"].map((id) => [id, "test"] as const)), include: new Set(["a", "b", "c"]) });
    assert.deepEqual(only.counts, { test: 3 });
    await assert.rejects(splitDataset({ src: conv, out: join(root, "bad"), seed: 0, assignment: new Map([["a", "test"]]) }), /5 image id\(s\) have no split in the given assignment/);
    await assert.rejects(splitDataset({ src: conv, out: join(root, "bad2"), seed: 0, assignment: new Map(["a", "b", "c", "d", "e", "f"].map((id) => [id, "train"] as const)) }), /the assignment puts no image in test/);
  });

  it("split - bad fractions and group files are refused by name", () => {
    assert.throws(() => assignSplits(ids, { test: 0, seed: 0 }), /--test must be a fraction above 0/);
    assert.throws(() => assignSplits(ids, { test: 0.6, val: 0.5, seed: 0 }), /must leave images for train/);
    const f = join(tempDir(), "groups.txt");
    writeFileSync(f, "a g1\na g2\n");
    assert.throws(() => readGroupFile(f), (e: unknown) => e instanceof DataArgumentError && /groups.txt:2: id a is in two groups/.test(e.message));
  });

  it("suite - refuses an image that is in two domains", async () => {
    const root = tempDir();
    for (const n of ["a", "b", "c", "d", "e"]) await writeImage(join(root, `images/${n}.png`), 16, 16, rgbImage(16, 16, [n.charCodeAt(0), 50, 60]), "png");
    writeFileSync(join(root, "classes.txt"), "polyp\n");
    const conv = join(root, "conv");
    await convertYolo({ images: join(root, "images"), labels: join(root, "labels"), classes: ["polyp"], out: conv });
    const out = join(root, "suite");
    await splitDataset({ src: conv, out: join(out, "one"), test: 0.4, seed: 0 });
    await splitDataset({ src: conv, out: join(out, "two"), test: 0.4, seed: 0, include: new Set(["a", "b"]) });
    await assert.rejects(
      assembleSuite({ out, name: "t", seed: 0, domains: [{ name: "one", task: "polyp", dir: join(out, "one") }, { name: "two", task: "polyp", dir: join(out, "two") }] }),
      /2 image\(s\) would be in two splits or domains: .*a is in one\/\w+ and two\/\w+/,
    );
    await splitDataset({ src: conv, out: join(out, "one"), test: 0.4, seed: 0, exclude: new Set(["a", "b"]) });
    const index = await assembleSuite({ out, name: "t", seed: 0, domains: [{ name: "one", task: "polyp", dir: join(out, "one") }, { name: "two", task: "polyp", dir: join(out, "two"), testOnly: true }] });
    assert.deepEqual(readSuiteIndex(out), index);
    assert.deepEqual(index.domains.map((d) => [d.name, d.role, d.splits, d.counts]), [
      ["one", "train", { train: "one/train", test: "one/test" }, { train: 2, test: 1 }],
      ["two", "test-only", { test: "two/test" }, { test: 1 }],
    ]);
  });

  it("split - --shareable gives the train records consent to leave as exemplars, and only those", async () => {
    const root = tempDir();
    for (const n of ["a", "b", "c", "d", "e"]) await writeImage(join(root, `images/${n}.png`), 16, 16, rgbImage(16, 16, [n.charCodeAt(0), 50, 60]), "png");
    const conv = join(root, "conv");
    await convertYolo({ images: join(root, "images"), labels: join(root, "labels"), classes: ["polyp"], out: conv });
    const flags = (dir: string): unknown[] => (JSON.parse(readFileSync(join(dir, "annotations.json"), "utf8")) as { images: { shareable?: unknown }[] }).images.map((im) => im.shareable);
    await splitDataset({ src: conv, out: join(root, "kept"), test: 0.4, seed: 0 });
    assert.ok(flags(join(root, "kept", "train")).every((f) => f === undefined), "without --shareable the records keep their own (absent) flag");
    await splitDataset({ src: conv, out: join(root, "shared"), test: 0.4, seed: 0, shareable: true });
    assert.deepEqual(flags(join(root, "shared", "train")), [true, true, true]);
    assert.deepEqual(flags(join(root, "shared", "test")), [undefined, undefined]);
    await splitDataset({ src: conv, out: join(root, "private"), test: 0.4, seed: 0, shareable: false });
    assert.deepEqual(flags(join(root, "private", "train")), [false, false, false]);
  });
});
