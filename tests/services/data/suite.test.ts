import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { before, describe, it } from "node:test";
import {
  domainDistances,
  loadCocoDataset,
  readSuiteIndex,
  renderContactSheet,
  synthesizeSuite,
  validateDataset,
  type SuiteIndex,
} from "../../../services/data/index.js";
import sharp from "sharp";
import { tempDir } from "./helpers.js";

function hashTree(root: string, sub = ""): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(root, p), createHash("sha256").update(readFileSync(p)).digest("hex"));
    }
  };
  walk(join(root, sub));
  return out;
}

describe("synthetic suite", () => {
  let dir = "";
  let index: SuiteIndex;
  before(async () => {
    dir = tempDir("medfcl-suite-");
    index = await synthesizeSuite({ suite: "polyp", out: dir, seed: 11, scale: "tiny" });
  });

  it("suite - polyp has 5 train domains and 3 test-only OOD domains with prompts", () => {
    assert.deepEqual(readSuiteIndex(dir), index);
    assert.equal(index.suite, "polyp");
    assert.equal(index.seed, 11);
    assert.equal(index.domains.filter((d) => d.role === "train").length, 5);
    assert.equal(index.domains.filter((d) => d.role === "test-only").length, 3);
    for (const d of index.domains) {
      assert.equal(d.task, "polyp");
      assert.equal(d.prompt.name, "pink yellow red color oval bump");
      assert.equal(d.prompt.suffix, " in rectum");
      assert.equal(d.splits.test, `${d.name}/test`);
      assert.equal(d.role === "train", d.splits.train === `${d.name}/train`);
      assert.ok(d.counts.test > 0);
    }
    const kv = index.domains.find((d) => d.name === "kvasir")!;
    assert.deepEqual(kv.counts, { train: 24, test: 12 });
  });

  it("suite - every split is a valid dataset whose images all carry lesions", async () => {
    for (const d of index.domains) {
      for (const split of [d.splits.train, d.splits.test]) {
        if (!split) continue;
        const folder = join(dir, split);
        assert.deepEqual(await validateDataset(folder), [], folder);
        const ds = await loadCocoDataset(folder);
        assert.equal(ds.images.length, split.endsWith("train") ? d.counts.train : d.counts.test);
        for (const im of ds.images) {
          assert.ok(Math.max(im.width, im.height) <= 320, `${folder} image ${im.id} is ${im.width}x${im.height}`);
          assert.ok((ds.annotationsByImage.get(im.id) ?? []).length >= 1, `${folder} image ${im.id} has no lesion`);
        }
        for (const a of ds.annotations) assert.ok(a.bbox[2] >= 3 && a.bbox[3] >= 3, `${folder} annotation ${a.id} is tiny`);
      }
    }
  });

  it("suite - the same seed gives byte-identical files, another seed different ones", async () => {
    const again = tempDir("medfcl-suite-");
    await synthesizeSuite({ suite: "polyp", out: again, seed: 11, scale: "tiny" });
    const a = hashTree(dir);
    const b = hashTree(again);
    assert.ok(a.size > 200);
    assert.deepEqual([...b.keys()], [...a.keys()]);
    for (const [k, v] of a) assert.equal(b.get(k), v, k);
    const other = tempDir("medfcl-suite-");
    await synthesizeSuite({ suite: "polyp", out: other, seed: 12, scale: "tiny", domains: ["clinicdb"] });
    const c = hashTree(other, "clinicdb");
    const same = [...c].filter(([k, v]) => a.get(k) === v).length;
    assert.equal(same, 0);
  });

  it("suite - the stylized (SinGAN-like) domain is the farthest from the others", async () => {
    const domains = [];
    for (const d of index.domains) domains.push({ name: d.name, ds: await loadCocoDataset(join(dir, d.splits.test), { checkImages: "none" }) });
    const report = await domainDistances(domains);
    assert.equal(report.farthest, "singan");
    const si = report.names.indexOf("singan");
    const others = report.meanToOthers.filter((_, i) => i !== si);
    assert.ok(report.meanToOthers[si] > Math.max(...others) * 1.1, JSON.stringify(report.meanToOthers));
    // The domains differ from each other at all (not only from singan).
    const kv = report.names.indexOf("kvasir");
    const bk = report.names.indexOf("bkai");
    assert.ok(report.matrix[kv][bk] > 0.1);
  });

  it("suite - the contact sheet is a PNG with one labelled row per domain", async () => {
    const out = join(dir, "sheet.png");
    const png = await renderContactSheet(dir, out, { thumb: 64, perRow: 3 });
    assert.deepEqual(readFileSync(out), png);
    const meta = await sharp(png).metadata();
    assert.equal(meta.format, "png");
    const rowH = 22 + 64 + 4;
    assert.equal(meta.height, index.domains.length * rowH + 4);
    // Every domain row holds image pixels (not the empty background) in its first thumbnail.
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    for (let r = 0; r < index.domains.length; r++) {
      const y = 4 + r * rowH + 22 + 32;
      let bright = 0;
      for (let x = 4; x < 68; x++) bright += data[(y * info.width + x) * info.channels] > 40 ? 1 : 0;
      assert.ok(bright > 10, `row ${r} (${index.domains[r].name}) looks empty`);
    }
    // A single dataset folder also previews.
    const single = await renderContactSheet(join(dir, "kvasir/train"), undefined, { thumb: 48, perRow: 4, maxImages: 8 });
    assert.equal((await sharp(single).metadata()).height, 2 * (22 + 48 + 4) + 4);
  });
});
