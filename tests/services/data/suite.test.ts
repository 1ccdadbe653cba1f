import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { before, describe, it } from "node:test";
import {
  domainDistances,
  ensureSyntheticSuite,
  loadCocoDataset,
  parseGeneratorVersion,
  profileDataset,
  readSuiteIndex,
  renderContactSheet,
  syntheticSuiteName,
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

describe("synthetic generator versions", () => {
  let v2 = "";
  let v3 = "";
  let v5 = "";
  const domains = ["kvasir", "bkai", "colondb", "clinicdb", "etis"];
  before(async () => {
    v2 = tempDir("medfcl-suite-v2-");
    v3 = tempDir("medfcl-suite-v3-");
    v5 = tempDir("medfcl-suite-v5-");
    await synthesizeSuite({ suite: "polyp", out: v2, seed: 11, scale: "tiny", domains });
    await synthesizeSuite({ suite: "polyp", out: v3, seed: 11, scale: "tiny", domains, generator: 3 });
    await synthesizeSuite({ suite: "polyp", out: v5, seed: 11, scale: "tiny", domains, generator: 5 });
  });

  it("suite - v3 changes only what it documents: ColonDB's boxes, BKAI's frames, Kvasir's storage; suite.json records the version", () => {
    assert.equal(readSuiteIndex(v2).generator, 2);
    assert.equal(readSuiteIndex(v3).generator, 3);
    const a = hashTree(v2);
    const b = hashTree(v3);
    const same = (prefix: string): boolean => [...a].filter(([k]) => k.startsWith(prefix)).every(([k, v]) => b.get(k) === v);
    assert.ok(same("etis/") && same("clinicdb/"), "the other domains are the same in v2 and v3");
    assert.ok(same("colondb/test/images/"), "ColonDB's images are the same in v2 and v3");
    assert.ok(!same("colondb/test/annotations.json"), "ColonDB's boxes change in v3");
    const bkaiImages = [...a].filter(([k]) => k.startsWith("bkai/train/images/"));
    assert.ok(bkaiImages.every(([k, v]) => b.get(k) !== v), "every BKAI frame changes in v3");
  });

  it("suite - v3's ColonDB boxes are tight (smaller than v2's 12 % margin) around the same lesions", async () => {
    const boxes = async (root: string) => (await loadCocoDataset(join(root, "colondb/test"), { checkImages: "none" })).annotations.map((x) => x.bbox);
    const old = await boxes(v2);
    const tight = await boxes(v3);
    assert.equal(tight.length, old.length);
    let smaller = 0;
    for (const [i, [x, y, w, h]] of tight.entries()) {
      const [ox, oy, ow, oh] = old[i];
      if (w * h < ow * oh) smaller++;
      // The same lesion: the tight box's centre lies inside the margin box.
      assert.ok(x + w / 2 > ox && x + w / 2 < ox + ow && y + h / 2 > oy && y + h / 2 < oy + oh, `box ${i} moved`);
    }
    assert.ok(smaller >= tight.length - 1, `${smaller} of ${tight.length} v3 boxes are smaller`);
  });

  it("suite - v3 stores the Kvasir frames squashed to a square, the boxes squeezed with them, as the real copy is", async () => {
    const load = async (root: string) => loadCocoDataset(join(root, "kvasir/train"), { checkImages: "none" });
    const old = await load(v2);
    const squashed = await load(v3);
    assert.equal(squashed.images.length, old.images.length);
    for (const [i, im] of squashed.images.entries()) {
      const before = old.images[i];
      assert.equal(im.width, im.height, `image ${im.id} is ${im.width}x${im.height}`);
      assert.equal(im.width, Math.max(before.width, before.height));
      assert.deepEqual((await sharp(join(v3, "kvasir/train", im.file_name)).metadata()).height, im.height);
      const [b3] = squashed.annotationsByImage.get(im.id)!;
      const [b2] = old.annotationsByImage.get(im.id)!;
      const squeeze = before.width / before.height;
      assert.ok(Math.abs(b3.bbox[2] / b3.bbox[3] - (b2.bbox[2] / b2.bbox[3]) / squeeze) < 1e-6, `box of image ${im.id}`);
    }
  });

  it("suite - v3's BKAI frames are greener and bluer per frame, with no frame as blue as v2's full-strength FICE", async () => {
    const profile = async (root: string) => profileDataset("bkai", await loadCocoDataset(join(root, "bkai/train"), { checkImages: "none" }));
    const old = await profile(v2);
    const now = await profile(v3);
    assert.ok(now.frameBlueRed.median > old.frameBlueRed.median + 0.05, `B/R median v2 ${old.frameBlueRed.median}, v3 ${now.frameBlueRed.median}`);
    assert.ok(now.frameGreenRed.median > old.frameGreenRed.median, `G/R median v2 ${old.frameGreenRed.median}, v3 ${now.frameGreenRed.median}`);
    // Real BKAI has no frame above B/R 0.8 (docs/data.md, "Generator v3").
    assert.ok(now.frameBlueRed.p90 < 0.8, `v3 B/R p90 ${now.frameBlueRed.p90}`);
  });

  it("suite - v5 changes only the lesions it calibrates: ETIS is v3's byte for byte, the boxes stay, Kvasir's lesions turn paler and ColonDB's fainter", async () => {
    assert.equal(readSuiteIndex(v5).generator, 5);
    const a = hashTree(v3);
    const b = hashTree(v5);
    assert.ok([...a].filter(([k]) => k.startsWith("etis/")).every(([k, v]) => b.get(k) === v), "ETIS has no real copy here and stays v3's");
    for (const split of ["kvasir/train", "colondb/test"]) {
      const boxes = async (root: string) => (await loadCocoDataset(join(root, split), { checkImages: "none" })).annotations.map((x) => x.bbox);
      assert.deepEqual(await boxes(v5), await boxes(v3), `${split}: the same lesions in the same places`);
      assert.ok([...a].filter(([k]) => k.startsWith(`${split}/images/`)).some(([k, v]) => b.get(k) !== v), `${split}: the lesions are drawn anew`);
    }
    const conspicuity = async (root: string, split: string) =>
      (await profileDataset(split, await loadCocoDataset(join(root, split), { checkImages: "none" }))).lesionConspicuity;
    // Real Kvasir lesions are paler than their mucosa (red step −2.2), v3's were not (docs/data.md, "Generator v5").
    const kv3 = await conspicuity(v3, "kvasir/train");
    const kv5 = await conspicuity(v5, "kvasir/train");
    assert.ok(kv5.redStep < kv3.redStep - 1, `Kvasir red step v3 ${kv3.redStep}, v5 ${kv5.redStep}`);
    // Real ColonDB lesions barely stand out (CNR 0.56), v3's stood out like Kvasir's (1.27).
    const cd3 = await conspicuity(v3, "colondb/test");
    const cd5 = await conspicuity(v5, "colondb/test");
    assert.ok(cd5.cnr < cd3.cnr, `ColonDB CNR v3 ${cd3.cnr}, v5 ${cd5.cnr}`);
  });

  it("suite - v6 draws each lesion's surface texture around its domain's: Kvasir's surfaces vary more than v5's, ETIS stays v3's", async () => {
    const v6 = tempDir("medfcl-suite-v6-");
    await synthesizeSuite({ suite: "polyp", out: v6, seed: 11, scale: "tiny", domains: ["kvasir", "etis"], generator: 6 });
    const a = hashTree(v3);
    const b = hashTree(v6);
    assert.ok([...a].filter(([k]) => k.startsWith("etis/")).every(([k, v]) => b.get(k) === v), "ETIS has no real copy here and stays v3's");
    const conspicuity = async (root: string) => (await profileDataset("kvasir", await loadCocoDataset(join(root, "kvasir/train"), { checkImages: "none" }))).lesionConspicuity;
    const five = await conspicuity(v5);
    const six = await conspicuity(v6);
    assert.ok(six.textureSpread > five.textureSpread + 0.5, `texture p10-p90 width v5 ${five.textureSpread}, v6 ${six.textureSpread}`);
  });

  it("suite - ensureSyntheticSuite rewrites a folder of another version and keeps one of the same", async () => {
    const dir = tempDir("medfcl-suite-ensure-");
    await synthesizeSuite({ suite: "polyp", out: dir, seed: 11, scale: "tiny", domains: ["colondb"] });
    const before2 = statSync(join(dir, "suite.json")).mtimeMs;
    assert.equal((await ensureSyntheticSuite({ suite: "polyp", out: dir, seed: 11, scale: "tiny", domains: ["colondb"] })).generator, 2);
    assert.equal(statSync(join(dir, "suite.json")).mtimeMs, before2, "a suite of the asked version is kept");
    const heard: number[] = [];
    const index = await ensureSyntheticSuite({ suite: "polyp", out: dir, seed: 11, scale: "tiny", domains: ["colondb"], generator: 3 }, (g) => heard.push(g));
    assert.equal(index.generator, 3);
    assert.deepEqual(heard, [3]);
    assert.equal(hashTree(dir, "colondb/test").get("colondb/test/annotations.json"), hashTree(v3, "colondb/test").get("colondb/test/annotations.json"));
  });

  it("suite - generator versions: folder names keep v2's, an unknown version is a clear error", () => {
    assert.equal(syntheticSuiteName({ suite: "polyp", scale: "small", seed: 1 }), "polyp-small-seed1");
    assert.equal(syntheticSuiteName({ suite: "polyp", scale: "small", seed: 1, generator: 3 }), "polyp-small-seed1-generator3");
    assert.equal(parseGeneratorVersion("3"), 3);
    // 4 was a reverted trial (14fff4a): refused, so no result is ever stored under its name again.
    assert.throws(() => parseGeneratorVersion("4"), /--generator must be one of 2, 3, 5, 6 .*got "4"/);
    assert.throws(() => parseGeneratorVersion(1), /--generator must be one of 2, 3, 5, 6/);
  });
});
