// Converters, split and suite on the real Kvasir-SEG and BCCD files of ../shared/datasets.
import { strict as assert } from "node:assert";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import sharp from "sharp";
import {
  BCCD_CLASSES,
  buildRealSuite,
  compareBoxes,
  convertKvasir,
  convertMasks,
  convertVoc,
  loadCocoDataset,
  readSuiteIndex,
  trainingDomains,
  validateDataset,
  type CocoDataset,
} from "../../../services/data/index.js";
import { sharedDataSkipReason, sharedDatasets } from "../../helpers/shared.js";
import { tempDir } from "./helpers.js";

const skip = sharedDataSkipReason();
const root = sharedDatasets();
const kv = join(root, "kvasir-seg");
const bccd = join(root, "bccd");

/** Per-class object counts read from the XML text itself, and the objects that are single points. */
function countVocXml(dir: string): { counts: Record<string, number>; points: Record<string, number>; files: number } {
  const counts: Record<string, number> = {};
  const points: Record<string, number> = {};
  const files = readdirSync(dir).filter((f) => f.endsWith(".xml"));
  for (const f of files) {
    for (const obj of readFileSync(join(dir, f), "utf8").match(/<object>[\s\S]*?<\/object>/g) ?? []) {
      const tag = (t: string): string => (new RegExp(`<${t}>\\s*([^<]*?)\\s*</${t}>`).exec(obj) ?? [])[1] ?? "";
      const name = tag("name");
      counts[name] = (counts[name] ?? 0) + 1;
      if (tag("xmin") === tag("xmax") && tag("ymin") === tag("ymax")) points[name] = (points[name] ?? 0) + 1;
    }
  }
  return { counts, points, files: files.length };
}

function idsOf(ds: CocoDataset): string[] {
  return ds.images.map((im) => im.file_name.replace(/^images\//, "").replace(/\.[^.]+$/, ""));
}

/** Every file under `dir` with its bytes, for same-bytes-twice checks (images are links to the same bytes). */
function snapshot(dir: string, base = dir): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) for (const [k, v] of snapshot(p, base)) out.set(k, v);
    else out.set(relative(base, p), readFileSync(p).toString("base64"));
  }
  return out;
}

/** A folder with the shared layout holding `n` Kvasir-SEG ids (a third of them sessile), `m` BKAI images and CVC-ColonDB frames 1..`k`. */
function subsetLayout(n: number, m: number, k: number): string {
  const dir = tempDir("medfcl-real-");
  const sessile = readFileSync(join(kv, "sessile-ids.txt"), "utf8").split(/\s+/).filter(Boolean);
  const all = readdirSync(join(kv, "images")).map((f) => f.replace(/\.jpg$/, "")).sort();
  const sessileSet = new Set(sessile);
  const pick = [...all.filter((id) => sessileSet.has(id)).slice(0, Math.floor(n / 3)), ...all.filter((id) => !sessileSet.has(id)).slice(0, n - Math.floor(n / 3))];
  const copy = (from: string, to: string): void => {
    mkdirSync(join(to, ".."), { recursive: true });
    copyFileSync(from, to);
  };
  for (const id of pick) {
    copy(join(kv, "images", `${id}.jpg`), join(dir, "kvasir-seg", "images", `${id}.jpg`));
    copy(join(kv, "masks", `${id}.jpg`), join(dir, "kvasir-seg", "masks", `${id}.jpg`));
  }
  const boxes = JSON.parse(readFileSync(join(kv, "kavsir_bboxes.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(join(dir, "kvasir-seg", "kavsir_bboxes.json"), JSON.stringify(Object.fromEntries(pick.map((id) => [id, boxes[id]]))));
  copyFileSync(join(kv, "sessile-ids.txt"), join(dir, "kvasir-seg", "sessile-ids.txt"));
  const bkai = join(root, "bkai-neopolyp");
  for (const f of readdirSync(join(bkai, "images")).sort().slice(0, m)) {
    copy(join(bkai, "images", f), join(dir, "bkai-neopolyp", "images", f));
    copy(join(bkai, "masks", f.replace(/\.jpeg$/, ".png")), join(dir, "bkai-neopolyp", "masks", f.replace(/\.jpeg$/, ".png")));
  }
  for (let i = 1; i <= k; i++) {
    copy(join(root, "cvc-colondb", "images", `${i}.jpeg`), join(dir, "cvc-colondb", "images", `${i}.jpeg`));
    copy(join(root, "cvc-colondb", "masks", `${i}.png`), join(dir, "cvc-colondb", "masks", `${i}.png`));
  }
  return dir;
}

describe("data on the real shared datasets", { skip }, () => {
  it("convert - BCCD: 364 images and the per-class box counts of the XML files", async () => {
    const xml = countVocXml(join(bccd, "Annotations"));
    assert.equal(xml.files, 364);
    const out = join(tempDir(), "bccd");
    const r = await convertVoc({ annotations: join(bccd, "Annotations"), images: join(bccd, "JPEGImages"), classes: BCCD_CLASSES, out });
    assert.equal(r.images, 364);
    // Every XML object is a box, except single points (stray clicks), which are reported as skipped.
    const expected = Object.fromEntries(BCCD_CLASSES.map((c) => [c, xml.counts[c] - (xml.points[c] ?? 0)]));
    assert.deepEqual(r.perCategory, expected);
    assert.equal(r.skipped.filter((s) => s.includes("single point")).length, Object.values(xml.points).reduce((a, b) => a + b, 0));
    assert.deepEqual(await validateDataset(out, { checkImages: "header" }), []);
    const ds = await loadCocoDataset(out);
    assert.equal(ds.annotations.length, Object.values(expected).reduce((a, b) => a + b, 0));
    // Boxes touching the frame (VOC xmax = 640 or xmin = 1) end exactly on the border, not past it.
    assert.ok(ds.annotations.some((a) => a.bbox[0] === 0) && ds.annotations.some((a) => a.bbox[0] + a.bbox[2] === 640));
    assert.ok(ds.annotations.every((a) => a.bbox[0] >= 0 && a.bbox[1] >= 0 && a.bbox[0] + a.bbox[2] <= 640 && a.bbox[1] + a.bbox[3] <= 480));
  });

  it("convert - Kvasir-SEG: JSON boxes scaled to the files agree with the masks (median IoU >= 0.9 over all images)", async () => {
    const dir = tempDir();
    const json = await convertKvasir({ bboxes: join(kv, "kavsir_bboxes.json"), images: join(kv, "images"), minArea: 32, out: join(dir, "json") });
    const masks = await convertMasks({ images: join(kv, "images"), masks: join(kv, "masks"), minArea: 32, category: "polyp", threshold: 128, out: join(dir, "masks") });
    assert.equal(json.images, 998);
    assert.equal(masks.images, 998);
    // The scaling is said once; the two ids without an image are one line.
    assert.equal(json.notes.filter((n) => n.startsWith("scaled boxes")).length, 1);
    assert.match(json.notes[0], /for 998 of 998 images/);
    assert.deepEqual(json.skipped.filter((s) => s.includes("have no image")).length, 1);
    assert.match(json.skipped[0], /^2 ids: cju1gkndf6yi10801o1qnje19, cju2hqt33lmra0988fr5ijv8j in kavsir_bboxes.json have no image/);
    const r = compareBoxes(await loadCocoDataset(join(dir, "json")), await loadCocoDataset(join(dir, "masks")));
    assert.equal(r.images, 998);
    assert.ok(r.median >= 0.9, `median IoU ${r.median}`);
  });

  it("convert - Kvasir-SEG: a copy whose aspect changed but whose files are not all one size is refused", async () => {
    const dir = tempDir();
    const ids = readdirSync(join(kv, "images")).sort().slice(0, 3).map((f) => f.replace(/\.jpg$/, ""));
    const boxes = JSON.parse(readFileSync(join(kv, "kavsir_bboxes.json"), "utf8")) as Record<string, unknown>;
    mkdirSync(join(dir, "images"));
    const sizes = [[200, 100], [120, 300], [256, 256]];
    for (const [i, id] of ids.entries()) await sharp(join(kv, "images", `${id}.jpg`)).resize(sizes[i][0], sizes[i][1], { fit: "fill" }).jpeg().toFile(join(dir, "images", `${id}.jpg`));
    writeFileSync(join(dir, "b.json"), JSON.stringify(Object.fromEntries(ids.map((id) => [id, boxes[id]]))));
    await assert.rejects(convertKvasir({ bboxes: join(dir, "b.json"), images: join(dir, "images"), out: join(dir, "out") }), /3 image\(s\) have a size the boxes cannot be scaled to: their aspect differs from the JSON's, and the files are not all one size \(3 sizes\)/);
  });

  it("real-suite - the polyp suite is the same bytes twice, split every 5th sorted id, and no image id crosses splits or domains", async () => {
    const layout = subsetLayout(36, 20, 12);
    const out = tempDir();
    const a = await buildRealSuite({ datasets: layout, out: join(out, "a"), suite: "polyp" });
    await buildRealSuite({ datasets: layout, out: join(out, "b"), suite: "polyp" });
    const sa = snapshot(join(out, "a"));
    const sb = snapshot(join(out, "b"));
    assert.deepEqual([...sa.keys()].sort(), [...sb.keys()].sort());
    for (const [k, v] of sa) assert.equal(sb.get(k), v, `${k} differs between two builds`);

    const index = readSuiteIndex(a.dir);
    assert.deepEqual(index.domains.map((d) => [d.name, d.task, d.role]), [["kvasir", "polyp", "train"], ["kvasir-sessile", "polyp", "train"], ["bkai", "polyp", "train"], ["colondb", "polyp", "test-only"]]);
    assert.equal(trainingDomains(index).length, 3);
    const sessile = new Set(readFileSync(join(kv, "sessile-ids.txt"), "utf8").split(/\s+/).filter(Boolean));
    const kvasirIds = readdirSync(join(layout, "kvasir-seg", "images")).map((f) => f.replace(/\.jpg$/, "")).sort();
    const where = new Map<string, string>();
    for (const d of index.domains) {
      for (const [split, rel] of Object.entries(d.splits)) {
        const ds = await loadCocoDataset(join(a.dir, rel));
        assert.ok(ds.images.length > 0, `${d.name}/${split} is empty`);
        for (const id of idsOf(ds)) {
          assert.equal(where.get(id), undefined, `${id} is in ${where.get(id)} and ${d.name}/${split}`);
          where.set(id, `${d.name}/${split}`);
          if (d.name === "kvasir") assert.ok(!sessile.has(id), `sessile id ${id} in the kvasir domain`);
          if (d.name === "kvasir-sessile") assert.ok(sessile.has(id), `${id} in kvasir-sessile is not a sessile id`);
          // Kvasir-SEG's test images are every 5th id of the whole set sorted, in either domain.
          if (d.name === "kvasir" || d.name === "kvasir-sessile") assert.equal((kvasirIds.indexOf(id) + 1) % 5 === 0, split === "test", `${id} in ${split}`);
        }
      }
    }
    assert.equal(where.size, 36 + 20 + 12);
    assert.equal(index.domains[0].prompt.name, "pink yellow red color oval bump");
    assert.ok(index.domains.every((d) => d.prompt.suffix === " in rectum"));
  });
});

