// Both real-data suites built from the whole of ../shared/datasets once, then checked: no image in
// two places (by content), the splits each dataset's rule gives, and the counts docs/data.md states.
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { buildRealSuites, readSuiteIndex, type RealSuiteResult, type SuiteIndex } from "../../../services/data/index.js";
import { sharedDataSkipReason, sharedDatasets } from "../../helpers/shared.js";
import { tempDir } from "./helpers.js";

const skip = sharedDataSkipReason();
const root = sharedDatasets();

interface Placed {
  suite: string;
  domain: string;
  split: string;
  id: string;
}

type RawImage = { file_name: string; shareable?: boolean; source_image?: string };

function records(dir: string): RawImage[] {
  return (JSON.parse(readFileSync(join(dir, "annotations.json"), "utf8")) as { images: RawImage[] }).images;
}

const idOf = (file: string): string => file.replace(/^images\//, "").replace(/\.[^.]+$/, "");
const stems = (dir: string): string[] => readdirSync(dir).map((f) => f.replace(/\.[^.]+$/, ""));
const listIds = (file: string): string[] => readFileSync(file, "utf8").split(/\r?\n/).filter((l) => l.startsWith("tb/")).map((l) => l.slice(3).replace(/\.png$/, ""));

/** The ids at positions 5, 10, 15, ... of the sorted list. */
function everyFifth(ids: string[]): string[] {
  return [...ids].sort().filter((_, i) => (i + 1) % 5 === 0);
}

describe("real-suite on the shared datasets", { skip }, () => {
  let results: RealSuiteResult[] = [];
  let index: Record<string, SuiteIndex> = {};
  const placed: Placed[] = [];
  const byHash = new Map<string, Placed[]>();

  /** Ids of one domain's split. */
  const ids = (suite: string, domain: string, split: string): string[] => placed.filter((p) => p.suite === suite && p.domain === domain && p.split === split).map((p) => p.id).sort();
  const dropped = (dataset: string): Set<string> => new Set(results.flatMap((r) => r.datasets).find((d) => d.name === dataset)!.duplicates.map((d) => d.id));

  before(async () => {
    const out = tempDir("medfcl-real-suites-");
    const started = Date.now();
    results = await buildRealSuites({ datasets: root, out, suites: ["polyp", "tasks"] });
    process.stderr.write(`both real suites built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    index = Object.fromEntries(results.map((r) => [r.index.suite, readSuiteIndex(r.dir)]));
    for (const r of results) {
      for (const d of index[r.index.suite].domains) {
        for (const [split, rel] of Object.entries(d.splits)) {
          for (const im of records(join(r.dir, rel))) {
            const p = { suite: r.index.suite, domain: d.name, split, id: idOf(im.file_name) };
            placed.push(p);
            const h = createHash("sha256").update(readFileSync(join(r.dir, rel, im.file_name))).digest("hex");
            byHash.set(h, [...(byHash.get(h) ?? []), p]);
          }
        }
      }
    }
  });

  it("real-suite - no image, by content, is in two splits or two domains of a suite, and none is train in one suite and test in the other", () => {
    // docs/data.md's tables: polyp 645 + 158 + 154 + 41 + 797 + 199 + 266, tasks 799 + 199 + 786 + 199 + 624 + 155 + 600 + 200 + 292 + 72 + 208 + 224 + 160 + 40.
    assert.equal(placed.length, 2260 + 4558, "images placed in both suites");
    for (const [h, where] of byHash) {
      for (const suite of ["polyp", "tasks"]) {
        const inSuite = where.filter((p) => p.suite === suite);
        assert.ok(inSuite.length <= 1, `${h.slice(0, 12)} is in ${inSuite.map((p) => `${p.domain}/${p.split}/${p.id}`).join(" and ")} of ${suite}`);
      }
      assert.equal(new Set(where.map((p) => p.split)).size, 1, `${h.slice(0, 12)} is in ${where.map((p) => `${p.suite}/${p.domain}/${p.split}`).join(" and ")}`);
    }
  });

  it("real-suite - polyp: kvasir -> kvasir-sessile -> bkai, colondb frames 1-300 test-only, one polyp category with the paper's prompt", () => {
    const polyp = index.polyp;
    assert.deepEqual(polyp.domains.map((d) => [d.name, d.task, d.role, Object.keys(d.splits)]), [
      ["kvasir", "polyp", "train", ["train", "test"]],
      ["kvasir-sessile", "polyp", "train", ["train", "test"]],
      ["bkai", "polyp", "train", ["train", "test"]],
      ["colondb", "polyp", "test-only", ["test"]],
    ]);
    for (const d of polyp.domains) assert.deepEqual(d.prompt, { prefix: "", name: "pink yellow red color oval bump", suffix: " in rectum" });
    const r = results.find((x) => x.index.suite === "polyp")!;
    for (const d of r.domains) for (const c of Object.values(d.splits)) assert.deepEqual(Object.keys(c!.boxes), ["polyp"]);
    const sessile = new Set(readFileSync(join(root, "kvasir-seg", "sessile-ids.txt"), "utf8").split(/\s+/).filter(Boolean));
    assert.ok(ids("polyp", "kvasir", "train").every((id) => !sessile.has(id)));
    assert.equal(ids("polyp", "kvasir-sessile", "train").length + ids("polyp", "kvasir-sessile", "test").length, 195);
    const frames = ids("polyp", "colondb", "test").map(Number);
    assert.ok(frames.every((n) => n >= 1 && n <= 300));
    assert.deepEqual(frames.length, 300 - dropped("colondb").size);
  });

  it("real-suite - where a set has no split of its own, every 5th image by sorted id is test (Kvasir-SEG over all 998 ids)", () => {
    const kvasirAll = stems(join(root, "kvasir-seg", "images"));
    const kvasirTest = everyFifth(kvasirAll);
    assert.deepEqual([...ids("polyp", "kvasir", "test"), ...ids("polyp", "kvasir-sessile", "test")].sort(), kvasirTest);
    assert.deepEqual(ids("tasks", "kvasir", "test"), kvasirTest);
    const bkai = stems(join(root, "bkai-neopolyp", "images")).filter((id) => !dropped("bkai").has(id));
    assert.deepEqual(ids("polyp", "bkai", "test"), everyFifth(bkai));
    const busi = ["benign", "malignant", "normal"].flatMap((c) => stems(join(root, "busi", c, "images"))).filter((id) => !dropped("busi").has(id));
    assert.deepEqual(ids("tasks", "busi", "test"), everyFifth(busi));
    assert.deepEqual(ids("tasks", "ph2", "test"), everyFifth(readdirSync(join(root, "ph2", "PH2 Dataset images"))));
  });

  it("real-suite - own splits are kept: FUSeg train/validation, TBX11K's lists, MoNuSeg train/test by image, BCCD ImageSets", () => {
    const fuseg = dropped("fuseg");
    assert.deepEqual(ids("tasks", "fuseg", "test"), stems(join(root, "fuseg", "validation", "images")).filter((id) => !fuseg.has(id)).sort());
    assert.deepEqual(ids("tasks", "fuseg", "train"), stems(join(root, "fuseg", "train", "images")).filter((id) => !fuseg.has(id)).sort());
    // An image in both train and validation is dropped from train: a test image leaves only for a copy that is also test.
    const validation = new Set(stems(join(root, "fuseg", "validation", "images")));
    const duplicates = results.flatMap((x) => x.datasets).find((d) => d.name === "fuseg")!.duplicates;
    assert.ok(duplicates.some((d) => validation.has(d.sameAs) && !validation.has(d.id)), "no train copy of a validation image was found");
    for (const d of duplicates) if (validation.has(d.id)) assert.ok(validation.has(d.sameAs), `${d.id} left test for train's ${d.sameAs}`);
    assert.deepEqual(ids("tasks", "tbx11k", "train"), listIds(join(root, "tbx11k", "lists", "TBX11K_train.txt")).sort());
    assert.deepEqual(ids("tasks", "tbx11k", "test"), listIds(join(root, "tbx11k", "lists", "TBX11K_val.txt")).sort());
    const bccd = (f: string): string[] => readFileSync(join(root, "bccd", "ImageSets", "Main", f), "utf8").split(/\s+/).filter(Boolean).sort();
    assert.deepEqual(ids("tasks", "bccd", "train"), bccd("trainval.txt"));
    assert.deepEqual(ids("tasks", "bccd", "test"), bccd("test.txt"));
    const r = results.find((x) => x.index.suite === "tasks")!;
    const sources = (split: string): string[] => [...new Set(records(join(r.dir, "monuseg", split)).map((im) => im.source_image!))].sort();
    assert.deepEqual(sources("train"), readdirSync(join(root, "monuseg", "MoNuSegTrainingData", "Annotations")).filter((f) => f.endsWith(".xml.gz")).map((f) => f.replace(/\.xml\.gz$/, "")).sort());
    assert.deepEqual(sources("test"), readdirSync(join(root, "monuseg", "MoNuSegTestData")).filter((f) => f.endsWith(".jpeg")).map((f) => f.replace(/\.jpeg$/, "")).sort());
    assert.equal(ids("tasks", "monuseg", "train").length, 13 * 16);
  });

  it("real-suite - tasks: Table 4's sequence first, a prompt per task, train records shareable and test records not", () => {
    const tasks = index.tasks;
    assert.deepEqual(tasks.domains.map((d) => [d.name, d.task]), [
      ["kvasir", "polyp"],
      ["fuseg", "foot-ulcer"],
      ["busi", "breast-tumor"],
      ["tbx11k", "tuberculosis"],
      ["bccd", "cells"],
      ["monuseg", "nuclei"],
      ["ph2", "skin-lesion"],
    ]);
    assert.equal(new Set(tasks.domains.map((d) => d.prompt.name)).size, tasks.domains.length);
    for (const r of results) {
      for (const d of index[r.index.suite].domains) {
        if (d.splits.train) assert.ok(records(join(r.dir, d.splits.train)).every((im) => im.shareable === true), `${d.name}/train`);
        assert.ok(records(join(r.dir, d.splits.test)).every((im) => im.shareable === undefined), `${d.name}/test`);
      }
    }
  });

  it("real-suite - the counts docs/data.md gives", () => {
    const table = Object.fromEntries(results.flatMap((r) => r.domains.map((d) => [`${r.index.suite}/${d.name}`, [d.splits.train?.images ?? 0, d.splits.test!.images]])));
    assert.deepEqual(table, {
      "polyp/kvasir": [645, 158],
      "polyp/kvasir-sessile": [154, 41],
      "polyp/bkai": [797, 199],
      "polyp/colondb": [0, 266],
      "tasks/kvasir": [799, 199],
      "tasks/fuseg": [786, 199],
      "tasks/busi": [624, 155],
      "tasks/tbx11k": [600, 200],
      "tasks/bccd": [292, 72],
      "tasks/monuseg": [208, 224],
      "tasks/ph2": [160, 40],
    });
    const tbx = results.find((r) => r.index.suite === "tasks")!.agreement.tbx11k;
    assert.ok(tbx.median >= 0.95, `TBX11K YOLO vs XML median IoU ${tbx.median}`);
    assert.ok(results.find((r) => r.index.suite === "polyp")!.agreement.kvasir.median >= 0.95);
  });
});
