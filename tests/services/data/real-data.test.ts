// Converters, split and suite on the real files of ../shared/datasets (its README.md gives the counts checked here).
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import sharp from "sharp";
import {
  BCCD_CLASSES,
  COLONDB_SEQUENCES,
  buildRealSuite,
  colonDbSequence,
  compareBoxes,
  convertAperio,
  convertKvasir,
  convertMasks,
  convertRgbMasks,
  convertVoc,
  convertYoloFolder,
  decodeImage,
  loadCocoDataset,
  parseAperioRegions,
  readSuiteIndex,
  trainingDomains,
  validateDataset,
  type CocoDataset,
} from "../../../services/data/index.js";
import { sharedDataSkipReason, sharedDatasets } from "../../helpers/shared.js";
import { createHash } from "node:crypto";
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

    // --val: every 5th of the train images (sorted) moves to val; test does not change.
    const v = await buildRealSuite({ datasets: layout, out: join(out, "v"), suite: "polyp", val: true });
    for (const d of readSuiteIndex(v.dir).domains.filter((x) => x.role === "train")) {
      const before = index.domains.find((x) => x.name === d.name)!;
      assert.deepEqual(idsOf(await loadCocoDataset(join(v.dir, d.splits.test))), idsOf(await loadCocoDataset(join(a.dir, before.splits.test))));
      const oldTrain = idsOf(await loadCocoDataset(join(a.dir, before.splits.train!))).sort();
      const val = idsOf(await loadCocoDataset(join(v.dir, d.splits.val!))).sort();
      assert.ok(val.length > 0, `${d.name} has no val`);
      assert.ok(val.every((id) => oldTrain.includes(id)));
    }
  });
  it("convert - BKAI: red only 694, green only 257, both 49 (the README's counts); two colours named polyp are one class", async () => {
    const bkai = join(root, "bkai-neopolyp");
    const out = tempDir();
    const two = await convertRgbMasks({ images: join(bkai, "images"), masks: join(bkai, "masks"), minArea: 32, out: join(out, "two") });
    assert.equal(two.images, 1000);
    assert.equal(two.negatives, 0);
    const ds = await loadCocoDataset(join(out, "two"), { checkImages: "none" });
    const sets = { red: 0, green: 0, both: 0 };
    for (const im of ds.images) {
      const cats = new Set((ds.annotationsByImage.get(im.id) ?? []).map((a) => ds.categories.find((c) => c.id === a.category_id)!.name));
      if (cats.size === 2) sets.both++;
      else if (cats.has("neoplastic polyp")) sets.red++;
      else if (cats.has("non-neoplastic polyp")) sets.green++;
    }
    assert.deepEqual(sets, { red: 694, green: 257, both: 49 });
    // The README cuts each channel at 127; check the nearest-colour rule against it on a few masks.
    for (const f of readdirSync(join(bkai, "masks")).sort().slice(0, 5)) {
      const m = await decodeImage(join(bkai, "masks", f));
      let off = 0;
      for (let i = 0; i < m.width * m.height; i++) {
        const [r, g, b] = [m.data[i * 3], m.data[i * 3 + 1], m.data[i * 3 + 2]];
        const cut = `${r > 127 ? 1 : 0}${g > 127 ? 1 : 0}${b > 127 ? 1 : 0}`;
        const d = [r * r + g * g + b * b, (r - 255) ** 2 + g * g + b * b, r * r + (g - 255) ** 2 + b * b];
        const nearest = ["000", "100", "010"][d.indexOf(Math.min(...d))];
        if (cut !== nearest) off++;
      }
      assert.ok(off <= 2, `${f}: ${off} pixels where the nearest colour and the 127 cut disagree`);
    }
    // Both colours named "polyp": one category, and the red and green pixels of a polyp are one component.
    const sub = tempDir();
    const both = ds.images.filter((im) => new Set((ds.annotationsByImage.get(im.id) ?? []).map((a) => a.category_id)).size === 2).map((im) => im.file_name.replace(/^images\//, "").replace(/\.jpeg$/, ""));
    for (const id of both) {
      mkdirSync(join(sub, "images"), { recursive: true });
      mkdirSync(join(sub, "masks"), { recursive: true });
      copyFileSync(join(bkai, "images", `${id}.jpeg`), join(sub, "images", `${id}.jpeg`));
      copyFileSync(join(bkai, "masks", `${id}.png`), join(sub, "masks", `${id}.png`));
    }
    const one = await convertRgbMasks({ images: join(sub, "images"), masks: join(sub, "masks"), minArea: 32, classes: [{ color: [255, 0, 0], name: "polyp" }, { color: [0, 255, 0], name: "polyp" }], out: join(out, "one") });
    assert.deepEqual(one.categories, ["polyp"]);
    assert.equal(one.images, 49);
    const twoBoxes = both.reduce((n, id) => n + (ds.annotationsByImage.get(ds.images.find((im) => im.file_name === `images/${id}.jpeg`)!.id) ?? []).length, 0);
    assert.ok(one.annotations >= 49 && one.annotations <= twoBoxes, `${one.annotations} merged boxes vs ${twoBoxes} per colour`);
    assert.ok(one.notes.some((n) => n.startsWith("colours that share a name are one class: polyp = 255,0,0 + 0,255,0")));
  });

  it("convert - TIFF masks: CVC-ColonDB masks saved as pN.tiff (the original names) give the PNG masks' boxes", async () => {
    const cvc = join(root, "cvc-colondb");
    const dir = tempDir();
    mkdirSync(join(dir, "masks"));
    const frames = [1, 2, 40, 77, 150, 210, 300, 301, 350, 380];
    for (const n of frames) await sharp(join(cvc, "masks", `${n}.png`)).tiff({ compression: "lzw" }).toFile(join(dir, "masks", `p${n}.tiff`));
    mkdirSync(join(dir, "images"));
    for (const n of frames) copyFileSync(join(cvc, "images", `${n}.jpeg`), join(dir, "images", `${n}.jpeg`));
    const tiff = await convertMasks({ images: join(dir, "images"), masks: join(dir, "masks"), maskPrefix: "p", minArea: 32, category: "polyp", out: join(dir, "tiff") });
    const png = await convertMasks({ images: join(dir, "images"), masks: join(cvc, "masks"), minArea: 32, category: "polyp", out: join(dir, "png") });
    assert.equal(tiff.images, frames.length);
    assert.deepEqual(tiff.skipped, []);
    const a = await loadCocoDataset(join(dir, "tiff"));
    const b = await loadCocoDataset(join(dir, "png"));
    assert.ok(a.annotations.length >= frames.length);
    assert.deepEqual(a.annotations.map((x) => x.bbox), b.annotations.map((x) => x.bbox));
    assert.equal(png.annotations, tiff.annotations);
  });

  it("convert - BUSI: one box per mask file (_mask, _mask_1, _mask_2), and the normal images kept as negatives", async () => {
    const busi = join(root, "busi");
    const out = join(tempDir(), "busi");
    const r = spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", "data", "convert", "--from", "masks", busi, "--images", busi, "--masks", busi, "--recursive", "--objects", "mask", "--category-name", "breast tumor", "--out", out], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /780 images, 665 boxes, 133 negatives/);
    assert.match(r.stdout, /note: 17 image\(s\) have several mask files/);
    const ds = await loadCocoDataset(out, { checkImages: "none" });
    const boxesOf = (prefix: string): number[] => ds.images.filter((im) => im.file_name.startsWith(`images/${prefix}`)).map((im) => (ds.annotationsByImage.get(im.id) ?? []).length);
    // README: 437 benign images with 454 masks, 210 malignant with 211, 133 normal with 133 empty ones.
    assert.deepEqual([boxesOf("benign").length, boxesOf("benign").reduce((a, b) => a + b, 0)], [437, 454]);
    assert.deepEqual([boxesOf("malignant").length, boxesOf("malignant").reduce((a, b) => a + b, 0)], [210, 211]);
    assert.deepEqual([boxesOf("normal").length, boxesOf("normal").reduce((a, b) => a + b, 0)], [133, 0]);
    // The images with several lesions are exactly those with a _mask_1 file.
    const extra = new Set(["benign", "malignant"].flatMap((c) => readdirSync(join(busi, c, "mask")).filter((f) => f.endsWith("_mask_1.png")).map((f) => f.replace("_mask_1.png", ""))));
    const several = ds.images.filter((im) => (ds.annotationsByImage.get(im.id) ?? []).length > 1).map((im) => im.file_name.replace(/^images\//, "").replace(/\.jpeg$/, ""));
    assert.deepEqual(several.sort(), [...extra].sort());
    assert.equal(several.length, 17);
  });

  it("convert - FUSeg validation: the README's 5 empty labels are negatives, and a label with only a tiny mark is named", async () => {
    const f = join(root, "fuseg", "validation");
    const r = await convertMasks({ images: join(f, "images"), masks: join(f, "labels"), minArea: 32, category: "foot ulcer", out: join(tempDir(), "fuseg") });
    assert.equal(r.images, 200);
    const ds = await loadCocoDataset(r.out, { checkImages: "none" });
    const negatives = ds.images.filter((im) => (ds.annotationsByImage.get(im.id) ?? []).length === 0).map((im) => im.file_name.replace(/^images\/|\.jpeg$/g, ""));
    for (const id of ["0128", "0417", "0483", "0533", "0869"]) assert.ok(negatives.includes(id), `${id} is not a negative`);
    assert.equal(r.negatives, negatives.length);
    // Every other negative is one whose mask marks only a region under --min-area, and the note names it.
    const specks = r.notes.find((n) => n.includes("marks only regions under 32 px")) ?? "";
    for (const id of negatives.filter((x) => !["0128", "0417", "0483", "0533", "0869"].includes(x))) assert.ok(specks.includes(id), `${id} is a negative the notes do not explain`);
  });

  it("convert - TBX11K: the Ultralytics folder (foreign path ignored) and the VOC XML at the X-ray's size agree at median IoU >= 0.95", async () => {
    const tbx = join(root, "tbx11k");
    const dir = tempDir();
    const r = spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", "data", "convert", "--from", "yolo", join(tbx, "tbx11k-small-balanced"), "--drop-empty-categories", "--out", join(dir, "yolo")], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /800 images, 1211 boxes, 1 negatives/);
    assert.match(r.stdout, /boxes per category: Active Tuberculosis 972, Obsolete Pulmonary TB 239/);
    assert.match(r.stdout, /note: data.yaml: ignored path: \/kaggle\/input/);
    assert.match(r.stdout, /note: left out 1 category that no box uses: Pulmonary Tuberculosis/);
    const yolo = await loadCocoDataset(join(dir, "yolo"), { checkImages: "none" });
    const tb1199 = yolo.images.find((im) => im.file_name === "images/tb1199.jpeg")!;
    assert.deepEqual(yolo.annotationsByImage.get(tb1199.id) ?? [], []);
    // Each image keeps the Ultralytics split it came from.
    const records = (JSON.parse(readFileSync(join(dir, "yolo", "annotations.json"), "utf8")) as { images: { source_split: string }[] }).images;
    assert.equal(records.filter((im) => im.source_split === "train").length, 600);
    assert.equal(records.filter((im) => im.source_split === "val").length, 200);

    const xml = await convertVoc({ annotations: join(tbx, "annotations", "xml"), images: [join(tbx, "tbx11k-small-balanced/images/train"), join(tbx, "tbx11k-small-balanced/images/val")], out: join(dir, "xml") });
    assert.equal(xml.images, 800);
    assert.deepEqual(xml.perCategory, { ActiveTuberculosis: 972, ObsoletePulmonaryTuberculosis: 239 });
    assert.match(xml.notes[0], /^scaled boxes from the XML <size> \(the original image's size\) to the image files' sizes for 800 of 800 images/);
    const agreement = compareBoxes(await loadCocoDataset(join(dir, "xml")), yolo);
    assert.equal(agreement.images, 800);
    assert.equal(agreement.countMismatch, 0);
    assert.ok(agreement.median >= 0.95, `median IoU ${agreement.median}`);

    // The same labels as a plain folder (images/ + labels/ + classes.txt) give the same boxes.
    const plain = join(dir, "plain");
    const ids = yolo.images.slice(0, 20).map((im) => im.file_name.replace(/^images\/|\.jpeg$/g, ""));
    mkdirSync(join(plain, "images"), { recursive: true });
    mkdirSync(join(plain, "labels"), { recursive: true });
    for (const id of ids) {
      const split = existsSync(join(tbx, "tbx11k-small-balanced/images/train", `${id}.jpeg`)) ? "train" : "val";
      copyFileSync(join(tbx, "tbx11k-small-balanced/images", split, `${id}.jpeg`), join(plain, "images", `${id}.jpeg`));
      copyFileSync(join(tbx, "tbx11k-small-balanced/labels", split, `${id}.txt`), join(plain, "labels", `${id}.txt`));
    }
    writeFileSync(join(plain, "classes.txt"), "Active Tuberculosis\nObsolete Pulmonary TB\nPulmonary Tuberculosis\n");
    await convertYoloFolder(plain, { out: join(dir, "plain-out") });
    const p = await loadCocoDataset(join(dir, "plain-out"));
    for (const id of ids) {
      const a = p.images.find((im) => im.file_name === `images/${id}.jpeg`)!;
      const b = yolo.images.find((im) => im.file_name === `images/${id}.jpeg`)!;
      assert.deepEqual((p.annotationsByImage.get(a.id) ?? []).map((x) => x.bbox), (yolo.annotationsByImage.get(b.id) ?? []).map((x) => x.bbox), id);
    }
  });

  it("convert - MoNuSeg: every XML region (gzip read directly) is an instance box; train images without XML are left out; 4x4 tiles hold < 100 boxes", async () => {
    const mon = join(root, "monuseg");
    const train = join(mon, "MoNuSegTrainingData");
    // Region counts from the XML text, against the parser (README: train 4,951 nuclei, test 6,697).
    let textRegions = 0;
    let parsed = 0;
    const files = [...readdirSync(join(train, "Annotations")).filter((f) => f.endsWith(".xml.gz")).map((f) => join(train, "Annotations", f)), ...readdirSync(join(mon, "MoNuSegTestData")).filter((f) => f.endsWith(".xml")).map((f) => join(mon, "MoNuSegTestData", f))];
    assert.equal(files.length, 27);
    for (const f of files) {
      const text = f.endsWith(".gz") ? gunzipSync(readFileSync(f)).toString("utf8") : readFileSync(f, "utf8");
      textRegions += (text.match(/<Region /g) ?? []).length;
      const r = parseAperioRegions(text, f);
      parsed += r.boxes.length;
      assert.equal(r.boxes.length + r.skipped.length, (text.match(/<Region /g) ?? []).length, f);
    }
    assert.equal(textRegions, 4951 + 6697);
    assert.ok(parsed >= textRegions - 2, `${textRegions - parsed} regions left out`);

    const out = join(tempDir(), "monuseg");
    const r = await convertAperio({ images: join(train, "Tissue_Images"), annotations: join(train, "Annotations"), category: "nucleus", tile: { rows: 4, cols: 4 }, out });
    const noXml = readdirSync(join(train, "Tissue_Images")).map((f) => f.replace(/\.jpeg$/, "")).filter((id) => !existsSync(join(train, "Annotations", `${id}.xml.gz`)));
    assert.equal(noXml.length, 17);
    const line = r.skipped.find((s) => s.startsWith("17 ids:")) ?? "";
    assert.match(line, /have no <id>\.xml or <id>\.xml\.gz/);
    assert.equal(r.images, 13 * 16);
    const ds = await loadCocoDataset(out);
    let most = 0;
    for (const im of ds.images) {
      assert.equal([im.width, im.height].join("x"), "250x250");
      const objects = (ds.annotationsByImage.get(im.id) ?? []).filter((a) => !a.iscrowd).length;
      most = Math.max(most, objects);
    }
    assert.ok(most < 100, `a tile holds ${most} nuclei: COCO's maxDets = 100 would cap its recall`);
    assert.ok(r.crowd > 0 && r.notes.some((n) => /sliver\(s\) with less than 25% of their box inside the tile written as ignore regions/.test(n)));
    // A tile is the image's pixels, losslessly.
    const first = ds.images.find((im) => im.file_name.endsWith("_r1c2.png"))!;
    const records = (JSON.parse(readFileSync(join(out, "annotations.json"), "utf8")) as { images: { file_name: string; source_image: string }[] }).images;
    const src = records.find((im) => im.file_name === first.file_name)!.source_image;
    assert.equal(first.file_name, `images/${src}_r1c2.png`);
    const whole = await decodeImage(join(train, "Tissue_Images", `${src}.jpeg`));
    const tile = await decodeImage(join(out, first.file_name));
    for (const [x, y] of [[0, 0], [249, 249], [17, 120]]) {
      for (let c = 0; c < 3; c++) assert.equal(tile.data[(y * 250 + x) * 3 + c], whole.data[((250 + y) * 1000 + 500 + x) * 3 + c]);
    }
  });

  it("colondb - the README's sequence table; CVC-300 (frames 149-208) is exactly sequences 7, 9 and 10; duplicate frames stay in one sequence", () => {
    const readme = readFileSync(join(root, "cvc-colondb", "README.txt.txt"), "latin1");
    const rows = [...readme.matchAll(/(\d+)\s+to\s+(\d+)\s*\|\s*(\d+)/g)].map((m) => [Number(m[1]), Number(m[2]), Number(m[3])]);
    assert.deepEqual(rows, COLONDB_SEQUENCES);
    const covered = COLONDB_SEQUENCES.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i)).sort((x, y) => x - y);
    assert.deepEqual(covered, Array.from({ length: 380 }, (_, i) => i + 1));
    const cvc300 = Array.from({ length: 60 }, (_, i) => 149 + i);
    assert.deepEqual([...new Set(cvc300.map(colonDbSequence))], [7, 9, 10]);
    assert.deepEqual(COLONDB_SEQUENCES.filter(([, , s]) => [7, 9, 10].includes(s)).map(([a, b]) => [a, b]), [[149, 155], [156, 203], [204, 208]]);
    // Frames with the same bytes are the same view: the table must put them in one sequence.
    const byHash = new Map<string, number[]>();
    for (const f of readdirSync(join(root, "cvc-colondb", "images"))) {
      const h = createHash("sha256").update(readFileSync(join(root, "cvc-colondb", "images", f))).digest("hex");
      byHash.set(h, [...(byHash.get(h) ?? []), Number(f.replace(/\.jpeg$/, ""))]);
    }
    const groups = [...byHash.values()].filter((g) => g.length > 1);
    assert.ok(groups.length > 0);
    for (const g of groups) assert.equal(new Set(g.map(colonDbSequence)).size, 1, `identical frames ${g.join(", ")} span sequences`);
  });
});

