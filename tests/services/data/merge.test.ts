import assert from "node:assert/strict";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DataValidationError, loadCocoDataset, mergeDatasets } from "../../../services/data/index.js";
import { isMedfclError } from "../../../services/errors/index.js";
import { tempDir, writeDataset, type FixtureImage } from "./helpers.js";

const root = tempDir("medfcl-merge-");
const images = (n: number, w: number): FixtureImage[] => Array.from({ length: n }, (_, i) => ({ file: `images/${i}.png`, width: w, height: 20, format: "png", boxes: [[1 + i, 2, 5, 5]] }));

describe("mergeDatasets", () => {
  before(async () => {
    await writeDataset(join(root, "a"), images(3, 30));
    await writeDataset(join(root, "b"), images(5, 40));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("merge - pools every image and box under one category, with renumbered ids, as a loadable dataset", async () => {
    const out = join(root, "pool");
    const r = await mergeDatasets([{ name: "a", dir: join(root, "a") }, { name: "b", dir: join(root, "b") }], out, { seed: 1 });
    assert.deepEqual(r.perPart, { a: 3, b: 5 });
    assert.equal(r.written, true);
    const ds = await loadCocoDataset(out, { checkImages: "decode" });
    assert.equal(ds.images.length, 8);
    assert.deepEqual(ds.images.map((im) => im.id), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(ds.categories.map((c) => c.name), ["polyp"]);
    assert.ok(ds.images.every((im) => JSON.stringify(im.caption_categories) === "[1]"));
    assert.equal(ds.annotations.length, 8);
    // Image 4 is b's first image (40 px wide, box at x = 1); its box followed it.
    assert.equal(ds.images[3].width, 40);
    assert.deepEqual(ds.annotationsByImage.get(4)?.map((a) => a.bbox), [[1, 2, 5, 5]]);
    // Hard links, not copies: the pooled file is the original inode.
    assert.equal(statSync(join(out, ds.images[0].file_name)).ino, statSync(join(root, "a", "images/0.png")).ino);
  });

  it("merge - limit keeps a seeded random subset per part; the same recipe is not redone", async () => {
    const out = join(root, "pool-2");
    const parts = [{ name: "a", dir: join(root, "a"), limit: 2 }, { name: "b", dir: join(root, "b"), limit: 2 }];
    const first = await mergeDatasets(parts, out, { seed: 7 });
    assert.deepEqual(first.perPart, { a: 2, b: 2 });
    const text = readFileSync(join(out, "annotations.json"), "utf8");
    const again = await mergeDatasets(parts, out, { seed: 7 });
    assert.equal(again.written, false);
    assert.equal(readFileSync(join(out, "annotations.json"), "utf8"), text);
    // Same seed elsewhere: the same images (determinism); each comes from its own part.
    await mergeDatasets(parts, join(root, "pool-3"), { seed: 7 });
    const sources = (dir: string) => (JSON.parse(readFileSync(join(dir, "annotations.json"), "utf8")) as { images: { source: string }[] }).images.map((im) => im.source);
    assert.deepEqual(sources(join(root, "pool-3")), sources(out));
    assert.deepEqual(sources(out).map((s) => s.split("/")[0]), ["a", "a", "b", "b"]);
    // A torn annotations.json (an interrupted write elsewhere) is redone, not trusted.
    writeFileSync(join(out, "annotations.json"), "{ torn");
    assert.equal((await mergeDatasets(parts, out, { seed: 7 })).written, true);
    assert.equal(readFileSync(join(out, "annotations.json"), "utf8"), text);
  });

  it("merge - parts with different classes keep their own caption: a pool of tasks", async () => {
    const e = join(root, "e");
    await writeDataset(e, images(2, 30));
    const ann = JSON.parse(readFileSync(join(e, "annotations.json"), "utf8")) as { categories: { name: string; prompt: { name: string } }[] };
    ann.categories[0].name = "cell";
    ann.categories[0].prompt.name = "small round red cell";
    writeFileSync(join(e, "annotations.json"), JSON.stringify(ann));
    const out = join(root, "pool-tasks");
    await mergeDatasets([{ name: "a", dir: join(root, "a") }, { name: "e", dir: e }], out, { seed: 1 });
    const ds = await loadCocoDataset(out);
    assert.deepEqual(ds.categories.map((c) => [c.id, c.name]), [[1, "polyp"], [2, "cell"]]);
    assert.deepEqual(ds.images.map((im) => im.caption_categories), [[1], [1], [1], [2], [2]]);
    assert.deepEqual(ds.annotations.map((a) => a.category_id), [1, 1, 1, 2, 2]);
  });

  it("merge - refuses a category whose prompt differs between parts, naming both folders", async () => {
    const c = join(root, "c");
    await writeDataset(c, images(1, 30));
    const ann = JSON.parse(readFileSync(join(c, "annotations.json"), "utf8")) as { categories: { prompt: { name: string } }[] };
    ann.categories[0].prompt.name = "a different description";
    writeFileSync(join(c, "annotations.json"), JSON.stringify(ann));
    await assert.rejects(
      mergeDatasets([{ name: "a", dir: join(root, "a") }, { name: "c", dir: c }], join(root, "pool-4"), { seed: 1 }),
      (err: unknown) => isMedfclError(err) && /category "polyp" has different prompts/.test(err.message) && err.message.includes(c),
    );
  });

  it("merge - a broken part is reported with its own file, and nothing is written", async () => {
    const d = join(root, "d");
    await writeDataset(d, images(1, 30));
    writeFileSync(join(d, "annotations.json"), "{ not json");
    const out = join(root, "pool-5");
    await assert.rejects(mergeDatasets([{ name: "a", dir: join(root, "a") }, { name: "d", dir: d }], out, { seed: 1 }), (err: unknown) => err instanceof DataValidationError && err.message.includes(join(d, "annotations.json")));
    assert.throws(() => statSync(join(out, "annotations.json")));
  });
});
