import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  convertAperio,
  convertDicom,
  convertKvasir,
  convertMasks,
  convertRgbMasks,
  convertVoc,
  convertYolo,
  convertYoloFolder,
  decodeImage,
  parseTileSpec,
  readYoloLayout,
  dicomToGrey,
  loadCocoDataset,
  sizeRelation,
  validateDataset,
  type CocoDataset,
} from "../../../services/data/index.js";
import { rgbImage, tempDir, writeImage } from "./helpers.js";
import { explicitElement } from "../../helpers/dicom.js";

async function valid(dir: string): Promise<CocoDataset> {
  assert.deepEqual(await validateDataset(dir), []);
  return loadCocoDataset(dir);
}

function boxesOf(ds: CocoDataset, file: string): { bbox: number[]; cat: string }[] {
  const im = ds.images.find((i) => i.file_name.endsWith(file));
  assert.ok(im, `no image ${file}`);
  return (ds.annotationsByImage.get(im.id) ?? []).map((a) => ({ bbox: a.bbox, cat: ds.categories.find((c) => c.id === a.category_id)!.name }));
}

/** A minimal explicit-VR little-endian Part 10 file with 16-bit unsigned greyscale pixels. */
function dicomFile(cols: number, rows: number, pixels: Uint16Array, window?: [number, number], monochrome1 = false): Buffer {
  const el = explicitElement;
  const str = (s: string): Buffer => Buffer.from(s.length % 2 ? `${s} ` : s, "latin1");
  const uid = (s: string): Buffer => Buffer.from(s.length % 2 ? `${s}\0` : s, "latin1");
  const us = (v: number): Buffer => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    return b;
  };
  const metaBody = Buffer.concat([
    el(0x0002, 0x0001, "OB", Buffer.from([0, 1])),
    el(0x0002, 0x0002, "UI", uid("1.2.840.10008.5.1.4.1.1.7")),
    el(0x0002, 0x0003, "UI", uid("1.2.3.4.5")),
    el(0x0002, 0x0010, "UI", uid("1.2.840.10008.1.2.1")),
  ]);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(metaBody.length);
  const meta = Buffer.concat([el(0x0002, 0x0000, "UL", len), metaBody]);
  const px = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  const data = Buffer.concat([
    el(0x0028, 0x0002, "US", us(1)),
    el(0x0028, 0x0004, "CS", str(monochrome1 ? "MONOCHROME1" : "MONOCHROME2")),
    el(0x0028, 0x0010, "US", us(rows)),
    el(0x0028, 0x0011, "US", us(cols)),
    el(0x0028, 0x0100, "US", us(16)),
    el(0x0028, 0x0101, "US", us(12)),
    el(0x0028, 0x0102, "US", us(11)),
    el(0x0028, 0x0103, "US", us(0)),
    ...(window ? [el(0x0028, 0x1050, "DS", str(String(window[0]))), el(0x0028, 0x1051, "DS", str(String(window[1])))] : []),
    el(0x7fe0, 0x0010, "OW", px),
  ]);
  return Buffer.concat([Buffer.alloc(128), Buffer.from("DICM", "latin1"), meta, data]);
}

describe("data convert", () => {
  it("convert - Kvasir-SEG bbox JSON", async () => {
    const root = tempDir();
    await writeImage(join(root, "images/cju0qkwl35piu0993l0dewei2.jpg"), 60, 40, rgbImage(60, 40, [120, 60, 50]), "jpeg");
    await writeImage(join(root, "images/cju0qoxqj9q6s0835b43399p4.jpg"), 50, 50, rgbImage(50, 50, [120, 60, 50]), "jpeg");
    writeFileSync(
      join(root, "kavsir_bboxes.json"),
      JSON.stringify({
        cju0qkwl35piu0993l0dewei2: { height: 40, width: 60, bbox: [{ label: "polyp", xmin: 10, ymin: 5, xmax: 30, ymax: 25 }] },
        cju0qoxqj9q6s0835b43399p4: { height: 50, width: 50, bbox: [{ label: "polyp", xmin: 40, ymin: 40, xmax: 55, ymax: 50 }, { label: "polyp", xmin: 2, ymin: 3, xmax: 4, ymax: 9 }] },
      }),
    );
    const out = join(tempDir(), "kvasir");
    const r = await convertKvasir({ bboxes: join(root, "kavsir_bboxes.json"), images: join(root, "images"), out });
    assert.equal(r.images, 2);
    const ds = await valid(out);
    assert.equal(ds.categories[0].prompt.name, "pink yellow red color oval bump");
    assert.deepEqual(boxesOf(ds, "cju0qkwl35piu0993l0dewei2.jpg"), [{ bbox: [10, 5, 20, 20], cat: "polyp" }]);
    // The box that runs past the right edge is clipped.
    assert.deepEqual(boxesOf(ds, "cju0qoxqj9q6s0835b43399p4.jpg").map((b) => b.bbox), [[40, 40, 10, 10], [2, 3, 2, 6]]);
  });

  it("convert - Kvasir-SEG boxes are scaled from the JSON's original size to the file's, said once", async () => {
    const root = tempDir();
    // A copy resized to one fixed size (aspect not kept), as the published 256x256 Kvasir-SEG copy is.
    await writeImage(join(root, "images/a.jpg"), 32, 32, rgbImage(32, 32, [120, 60, 50]), "jpeg");
    await writeImage(join(root, "images/b.jpg"), 32, 32, rgbImage(32, 32, [120, 60, 50]), "jpeg");
    writeFileSync(
      join(root, "kavsir_bboxes.json"),
      JSON.stringify({
        a: { height: 64, width: 128, bbox: [{ label: "polyp", xmin: 64, ymin: 32, xmax: 128, ymax: 64 }, { label: "polyp", xmin: 0, ymin: 0, xmax: 2, ymax: 2 }] },
        b: { height: 100, width: 100, bbox: [{ label: "polyp", xmin: 0, ymin: 50, xmax: 25, ymax: 100 }] },
        gone1: { height: 10, width: 10, bbox: [] },
        gone2: { height: 10, width: 10, bbox: [] },
      }),
    );
    const out = join(tempDir(), "kvasir");
    const r = await convertKvasir({ bboxes: join(root, "kavsir_bboxes.json"), images: join(root, "images"), minArea: 2, out });
    const ds = await valid(out);
    // 128x64 -> 32x32: x by 1/4, y by 1/2; the 2x2 speck becomes 0.5x1 px and is dropped.
    assert.deepEqual(boxesOf(ds, "a.jpg").map((b) => b.bbox), [[16, 16, 16, 16]]);
    assert.deepEqual(boxesOf(ds, "b.jpg").map((b) => b.bbox), [[0, 16, 8, 16]]);
    assert.deepEqual(r.skipped, [`2 ids: gone1, gone2 in kavsir_bboxes.json have no image in ${join(root, "images")}`]);
    assert.match(r.notes[0], /^scaled boxes from the JSON's original sizes to the image files' sizes for 2 of 2 images \(1 of them resized to one fixed size 32x32/);
    assert.match(r.notes[1], /^dropped 1 box\(es\) smaller than 2 px/);
  });

  it("convert - Kvasir-SEG: one stretched file among originals is refused, naming it", async () => {
    const root = tempDir();
    await writeImage(join(root, "images/a.jpg"), 40, 30, rgbImage(40, 30, [120, 60, 50]), "jpeg");
    await writeImage(join(root, "images/b.jpg"), 40, 40, rgbImage(40, 40, [120, 60, 50]), "jpeg");
    writeFileSync(
      join(root, "kavsir_bboxes.json"),
      JSON.stringify({ a: { height: 30, width: 40, bbox: [] }, b: { height: 30, width: 40, bbox: [{ label: "polyp", xmin: 1, ymin: 1, xmax: 9, ymax: 9 }] } }),
    );
    await assert.rejects(
      convertKvasir({ bboxes: join(root, "kavsir_bboxes.json"), images: join(root, "images"), out: join(tempDir(), "k") }),
      /1 image\(s\) have a size the boxes cannot be scaled to: .* e\.g\. b \(json 40x30, file 40x40\)/,
    );
  });

  it("convert - Kvasir-SEG sizes: same, uniform resize, rotated, anisotropic", () => {
    assert.equal(sizeRelation({ width: 622, height: 529 }, { width: 622, height: 529 }), "same");
    assert.equal(sizeRelation({ width: 622, height: 529 }, { width: 311, height: 265 }), "uniform");
    assert.equal(sizeRelation({ width: 622, height: 529 }, { width: 529, height: 622 }), "rotated");
    assert.equal(sizeRelation({ width: 622, height: 529 }, { width: 256, height: 256 }), "anisotropic");
  });

  it("convert - VOC difficult objects become iscrowd (ignored), point boxes are dropped", async () => {
    const root = tempDir();
    await writeImage(join(root, "JPEGImages/x.jpg"), 64, 48, rgbImage(64, 48, [230, 200, 200]), "jpeg");
    mkdirSync(join(root, "Annotations"));
    writeFileSync(
      join(root, "Annotations/x.xml"),
      `<annotation><filename>x.jpg</filename>
<object><name>RBC</name><difficult>1</difficult><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>10</xmax><ymax>10</ymax></bndbox></object>
<object><name>RBC</name><difficult>0</difficult><bndbox><xmin>20</xmin><ymin>20</ymin><xmax>20</xmax><ymax>20</ymax></bndbox></object>
<object><name>WBC</name><bndbox><xmin>30</xmin><ymin>30</ymin><xmax>64</xmax><ymax>48</ymax></bndbox></object>
</annotation>`,
    );
    const crowd = await convertVoc({ annotations: join(root, "Annotations"), images: join(root, "JPEGImages"), classes: ["RBC", "WBC"], out: join(tempDir(), "a") });
    const coco = JSON.parse(readFileSync(join(crowd.out, "annotations.json"), "utf8"));
    assert.deepEqual(coco.annotations.map((a: { bbox: number[]; iscrowd: number }) => [a.bbox, a.iscrowd]), [[[0, 0, 10, 10], 1], [[29, 29, 35, 19], 0]]);
    assert.deepEqual(crowd.perCategory, { RBC: 1, WBC: 1 });
    assert.match(crowd.skipped[0], /x.xml: box of "RBC" is a single point \(20,20\)/);
    const dropped = await convertVoc({ annotations: join(root, "Annotations"), images: join(root, "JPEGImages"), classes: ["RBC", "WBC"], difficult: "drop", out: join(tempDir(), "b") });
    assert.deepEqual(dropped.perCategory, { RBC: 0, WBC: 1 });
  });

  it("convert - binary masks: one box per connected component above the minimum area", async () => {
    const root = tempDir();
    await writeImage(join(root, "images/1.png"), 64, 48, rgbImage(64, 48, [150, 80, 70]), "png");
    await writeImage(join(root, "images/2.png"), 64, 48, rgbImage(64, 48, [150, 80, 70]), "png");
    const white: [number, number, number] = [255, 255, 255];
    await writeImage(join(root, "masks/1.png"), 64, 48, rgbImage(64, 48, [0, 0, 0], [{ box: [4, 6, 10, 8], color: white }, { box: [30, 20, 20, 20], color: white }, { box: [60, 2, 2, 2], color: white }]), "png");
    // An L-shaped lesion is one component; diagonal contact joins (8-connectivity).
    await writeImage(join(root, "masks/2.png"), 64, 48, rgbImage(64, 48, [0, 0, 0], [{ box: [10, 10, 20, 5], color: white }, { box: [10, 15, 5, 15], color: white }, { box: [15, 30, 6, 6], color: white }]), "png");
    const out = join(tempDir(), "masks");
    await convertMasks({ images: join(root, "images"), masks: join(root, "masks"), minArea: 10, category: "polyp", out, prompts: { polyp: { suffix: " in colon" } } });
    const ds = await valid(out);
    assert.deepEqual(ds.categories[0].prompt, { prefix: "", name: "polyp", suffix: " in colon" });
    assert.deepEqual(boxesOf(ds, "1.png").map((b) => b.bbox), [[4, 6, 10, 8], [30, 20, 20, 20]]);
    assert.deepEqual(boxesOf(ds, "2.png").map((b) => b.bbox), [[10, 10, 20, 26]]);
  });

  it("convert - RGB class masks (BKAI red/green)", async () => {
    const root = tempDir();
    await writeImage(join(root, "train/a.jpeg"), 40, 40, rgbImage(40, 40, [150, 80, 70]), "jpeg");
    await writeImage(join(root, "train_gt/a.png"), 40, 40, rgbImage(40, 40, [0, 0, 0], [{ box: [2, 2, 10, 10], color: [250, 5, 5] }, { box: [20, 22, 12, 8], color: [3, 240, 10] }]), "png");
    const out = join(tempDir(), "bkai");
    await convertRgbMasks({ images: join(root, "train"), masks: join(root, "train_gt"), minArea: 4, out });
    const ds = await valid(out);
    assert.deepEqual(ds.categories.map((c) => c.name), ["neoplastic polyp", "non-neoplastic polyp"]);
    assert.deepEqual(boxesOf(ds, "a.jpeg"), [{ bbox: [2, 2, 10, 10], cat: "neoplastic polyp" }, { bbox: [20, 22, 12, 8], cat: "non-neoplastic polyp" }]);
  });

  it("convert - Pascal VOC XML (BCCD)", async () => {
    const root = tempDir();
    await writeImage(join(root, "JPEGImages/BloodImage_00000.jpg"), 64, 48, rgbImage(64, 48, [230, 200, 200]), "jpeg");
    mkdirSync(join(root, "Annotations"));
    writeFileSync(
      join(root, "Annotations/BloodImage_00000.xml"),
      `<annotation><folder>JPEGImages</folder><filename>BloodImage_00000.jpg</filename><size><width>64</width><height>48</height><depth>3</depth></size>
<object><name>WBC</name><difficult>0</difficult><bndbox><xmin>11</xmin><ymin>6</ymin><xmax>30</xmax><ymax>25</ymax></bndbox></object>
<object><name>RBC</name><difficult>0</difficult><bndbox><xmin>41</xmin><ymin>31</ymin><xmax>70</xmax><ymax>48</ymax></bndbox></object>
</annotation>`,
    );
    const out = join(tempDir(), "bccd");
    await convertVoc({ annotations: join(root, "Annotations"), images: join(root, "JPEGImages"), classes: ["RBC", "WBC", "Platelets"], out, prompts: { WBC: { name: "purple white blood cell" } } });
    const ds = await valid(out);
    assert.deepEqual(ds.categories.map((c) => [c.id, c.name]), [[1, "RBC"], [2, "WBC"], [3, "Platelets"]]);
    assert.equal(ds.categories[1].prompt.name, "purple white blood cell");
    assert.deepEqual(boxesOf(ds, "BloodImage_00000.jpg"), [{ bbox: [10, 5, 20, 20], cat: "WBC" }, { bbox: [40, 30, 24, 18], cat: "RBC" }]);
  });

  it("convert - YOLO txt", async () => {
    const root = tempDir();
    await writeImage(join(root, "images/u1.png"), 100, 50, rgbImage(100, 50, [90, 90, 90]), "png");
    await writeImage(join(root, "images/u2.png"), 100, 50, rgbImage(100, 50, [90, 90, 90]), "png");
    mkdirSync(join(root, "labels"));
    writeFileSync(join(root, "labels/u1.txt"), "0 0.5 0.5 0.2 0.4\n1 0.1 0.1 0.1 0.1\n");
    const out = join(tempDir(), "yolo");
    const r = await convertYolo({ images: join(root, "images"), labels: join(root, "labels"), classes: ["nodule", "cyst"], out });
    assert.equal(r.skipped.length, 1); // u2 has no label file: kept without objects
    const ds = await valid(out);
    assert.deepEqual(boxesOf(ds, "u1.png"), [{ bbox: [40, 15, 20, 20], cat: "nodule" }, { bbox: [5, 2.5, 10, 5], cat: "cyst" }]);
    assert.deepEqual(boxesOf(ds, "u2.png"), []);
  });

  it("convert - DICOM windowed to 8 bits, paired with masks", async () => {
    const root = tempDir();
    const cols = 32;
    const rows = 24;
    const px = new Uint16Array(cols * rows);
    for (let i = 0; i < px.length; i++) px[i] = (i % cols) * 100; // 0..3100 ramp along x
    mkdirSync(join(root, "dicom"));
    writeFileSync(join(root, "dicom/scan1.dcm"), dicomFile(cols, rows, px, [1000, 1000]));
    writeFileSync(join(root, "dicom/notes.txt"), "not an image");
    await writeImage(join(root, "masks/scan1.png"), cols, rows, rgbImage(cols, rows, [0, 0, 0], [{ box: [8, 4, 6, 10], color: [255, 255, 255] }]), "png");

    const grey = dicomToGrey(readFileSync(join(root, "dicom/scan1.dcm")), "scan1.dcm");
    // Window 1000 +- 500: 500 and below -> 0, 1500 and above -> 255, linear between.
    assert.equal(grey.data[5], 0);
    assert.equal(grey.data[10], Math.round(((1000 - 999.5) / 999 + 0.5) * 255));
    assert.equal(grey.data[15], 255);
    const wide = dicomToGrey(readFileSync(join(root, "dicom/scan1.dcm")), "scan1.dcm", { center: 1550, width: 3101 });
    assert.ok(wide.data[31] >= 254 && wide.data[0] === 0);
    const inv = dicomToGrey(dicomFile(cols, rows, px, [1000, 1000], true), "inv.dcm");
    assert.equal(inv.data[5], 255);

    const out = join(tempDir(), "dicom-out");
    await convertDicom({ dicom: join(root, "dicom"), out, pair: { format: "masks", masks: join(root, "masks"), minArea: 4, category: "nodule", prompts: { nodule: { name: "dark round nodule" } } } });
    const ds = await valid(out);
    assert.deepEqual(boxesOf(ds, "scan1.png"), [{ bbox: [8, 4, 6, 10], cat: "nodule" }]);
    const img = await decodeImage(join(out, "images/scan1.png"));
    assert.equal(img.data[10 * 3], grey.data[10]);
  });

  it("convert - the CLI converts and validates in one step", () => {
    const root = tempDir();
    mkdirSync(join(root, "labels"), { recursive: true });
    writeFileSync(join(root, "classes.txt"), "ulcer\n");
    writeFileSync(join(root, "labels/f.txt"), "0 0.5 0.5 0.5 0.5\n");
    const bmp = join(root, "images/f.bmp");
    return writeImage(bmp, 20, 20, rgbImage(20, 20, [200, 120, 100]), "bmp").then(() => {
      const out = join(tempDir(), "cli");
      const r = spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", "data", "convert", "--from", "yolo", root, "--out", out, "--prompt-suffix", " on foot"], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /1 images, 1 boxes, 0 negatives/);
      assert.match(r.stdout, /boxes per category: ulcer 1/);
      const coco = JSON.parse(readFileSync(join(out, "annotations.json"), "utf8"));
      assert.deepEqual(coco.categories[0].prompt, { prefix: "", name: "ulcer", suffix: " on foot" });
      assert.deepEqual(coco.annotations[0].bbox, [5, 5, 10, 10]);
    });
  });
  it("convert - several mask files per image: one box per file (objects: mask) or per component; empty masks are negatives", async () => {
    const root = tempDir();
    const white: [number, number, number] = [255, 255, 255];
    for (const n of ["a (1)", "a (2)", "n (1)"]) await writeImage(join(root, `cls/images/${n}.png`), 40, 30, rgbImage(40, 30, [90, 90, 90]), "png");
    // a (1): two lesions, one per file; the first drawn in two touching-free pieces.
    await writeImage(join(root, "cls/mask/a (1)_mask.png"), 40, 30, rgbImage(40, 30, [0, 0, 0], [{ box: [2, 2, 4, 4], color: white }, { box: [8, 2, 4, 4], color: white }]), "png");
    await writeImage(join(root, "cls/mask/a (1)_mask_1.png"), 40, 30, rgbImage(40, 30, [0, 0, 0], [{ box: [20, 10, 10, 10], color: white }]), "png");
    await writeImage(join(root, "cls/mask/a (2)_mask.png"), 40, 30, rgbImage(40, 30, [0, 0, 0], [{ box: [5, 5, 6, 6], color: white }]), "png");
    await writeImage(join(root, "cls/mask/n (1)_mask.png"), 40, 30, rgbImage(40, 30, [0, 0, 0]), "png");
    // Images and masks under one root, walked recursively: a mask is never taken for an image.
    const perFile = await convertMasks({ images: root, masks: root, recursive: true, objects: "mask", minArea: 4, category: "lesion", out: join(tempDir(), "a") });
    assert.equal(perFile.images, 3);
    assert.equal(perFile.negatives, 1);
    assert.match(perFile.notes.join("\n"), /1 image\(s\) have several mask files/);
    const ds = await valid(perFile.out);
    assert.deepEqual(boxesOf(ds, "a (1).png").map((b) => b.bbox), [[2, 2, 10, 4], [20, 10, 10, 10]]);
    assert.deepEqual(boxesOf(ds, "n (1).png"), []);
    const perComponent = await convertMasks({ images: join(root, "cls/images"), masks: join(root, "cls/mask"), minArea: 4, category: "lesion", out: join(tempDir(), "b") });
    assert.deepEqual(boxesOf(await valid(perComponent.out), "a (1).png").map((b) => b.bbox), [[2, 2, 4, 4], [8, 2, 4, 4], [20, 10, 10, 10]]);
  });

  it("convert - masks named with a prefix (pN.tiff), and a mask with only specks under --min-area is a named negative", async () => {
    const root = tempDir();
    const white: [number, number, number] = [255, 255, 255];
    await writeImage(join(root, "images/1.png"), 30, 30, rgbImage(30, 30, [90, 90, 90]), "png");
    await writeImage(join(root, "images/2.png"), 30, 30, rgbImage(30, 30, [90, 90, 90]), "png");
    await writeImage(join(root, "masks/p1.tiff"), 30, 30, rgbImage(30, 30, [0, 0, 0], [{ box: [3, 4, 10, 12], color: white }]), "tiff");
    await writeImage(join(root, "masks/p2.tiff"), 30, 30, rgbImage(30, 30, [0, 0, 0], [{ box: [3, 4, 2, 2], color: white }]), "tiff");
    const r = await convertMasks({ images: join(root, "images"), masks: join(root, "masks"), maskPrefix: "p", minArea: 10, category: "polyp", out: join(tempDir(), "m") });
    assert.deepEqual(boxesOf(await valid(r.out), "1.png").map((b) => b.bbox), [[3, 4, 10, 12]]);
    assert.equal(r.negatives, 1);
    assert.ok(r.notes.some((n) => n.startsWith("1 id: 2: the mask marks only regions under 10 px")));
    const none = await convertMasks({ images: join(root, "images"), masks: join(root, "masks"), minArea: 10, category: "polyp", out: join(tempDir(), "n") }).catch((e: Error) => e);
    assert.match(String(none), /nothing to convert: no images were found \(skipped: 2 ids: 1, 2: no mask file found/);
  });

  it("convert - RGB colours that share a name are one class, their pixels joined", async () => {
    const root = tempDir();
    await writeImage(join(root, "images/a.jpeg"), 40, 40, rgbImage(40, 40, [150, 80, 70]), "jpeg");
    // A red and a green region that touch: one polyp, not two.
    await writeImage(join(root, "masks/a.png"), 40, 40, rgbImage(40, 40, [0, 0, 0], [{ box: [2, 2, 10, 10], color: [250, 5, 5] }, { box: [12, 2, 6, 10], color: [3, 240, 10] }, { box: [30, 30, 6, 6], color: [0, 255, 0] }]), "png");
    const r = await convertRgbMasks({ images: join(root, "images"), masks: join(root, "masks"), minArea: 4, classes: [{ color: [255, 0, 0], name: "polyp" }, { color: [0, 255, 0], name: "polyp" }], out: join(tempDir(), "p") });
    assert.deepEqual(r.categories, ["polyp"]);
    assert.deepEqual(boxesOf(await valid(r.out), "a.jpeg").map((b) => b.bbox), [[2, 2, 16, 10], [30, 30, 6, 6]]);
    assert.match(r.notes[0], /polyp \(255,0,0\) \+ polyp \(0,255,0\): 1/);
  });

  it("convert - VOC boxes in the pixels of another <size> are scaled to the file; a rotated file is refused", async () => {
    const root = tempDir();
    await writeImage(join(root, "images/x.jpeg"), 64, 64, rgbImage(64, 64, [100, 100, 100]), "jpeg");
    mkdirSync(join(root, "xml"));
    const xml = (w: number, h: number): string =>
      `<annotation><filename>x</filename><size><width>${w}</width><height>${h}</height></size><object><name>TB</name><bndbox><xmin>101</xmin><ymin>51</ymin><xmax>200</xmax><ymax>100</ymax></bndbox></object></annotation>`;
    writeFileSync(join(root, "xml/x.xml"), xml(256, 128));
    const r = await convertVoc({ annotations: join(root, "xml"), images: join(root, "images"), out: join(tempDir(), "v") });
    // 256x128 -> 64x64: x by 1/4, y by 1/2.
    assert.deepEqual(boxesOf(await valid(r.out), "x.jpeg").map((b) => b.bbox), [[25, 25, 25, 25]]);
    assert.match(r.notes[0], /^scaled boxes from the XML <size> \(the original image's size\) to the image files' sizes for 1 of 1 images/);
    await writeImage(join(root, "images/x.jpeg"), 64, 32, rgbImage(64, 32, [100, 100, 100]), "jpeg");
    writeFileSync(join(root, "xml/x.xml"), xml(32, 64));
    await assert.rejects(convertVoc({ annotations: join(root, "xml"), images: join(root, "images"), out: join(tempDir(), "w") }), /1 image\(s\) have a size the boxes cannot be scaled to: width and height are swapped/);
  });

  it("convert - an Ultralytics YOLO folder: names as a map, a foreign path: ignored, labels beside images; empty classes can be dropped", async () => {
    const root = tempDir();
    for (const [split, n] of [["train", "t1"], ["valid", "v1"]]) {
      await writeImage(join(root, `${split}/images/${n}.png`), 100, 50, rgbImage(100, 50, [90, 90, 90]), "png");
      mkdirSync(join(root, `${split}/labels`), { recursive: true });
    }
    writeFileSync(join(root, "train/labels/t1.txt"), "0 0.5 0.5 0.2 0.4\n");
    writeFileSync(join(root, "valid/labels/v1.txt"), "1 0.1 0.1 0.1 0.1\n3 0.5 0.5 0.1 0.1\n");
    writeFileSync(join(root, "data.yaml"), "path: /kaggle/input/somewhere\ntrain: train/images\nval: valid/images\ntest: valid/images\nnc: 4\nnames:\n  0: nodule\n  1: cyst\n  2: unused\n  3: spare\n");
    const r = await convertYoloFolder(root, { out: join(tempDir(), "u"), dropEmptyCategories: true });
    assert.deepEqual(r.categories, ["nodule", "cyst", "spare"]);
    const notes = r.notes.join("\n");
    assert.match(notes, /data.yaml: ignored path: \/kaggle\/input\/somewhere/);
    assert.match(notes, /data.yaml: test is the same folder as val/);
    assert.match(notes, /left out 1 category that no box uses: unused/);
    const ds = await valid(r.out);
    assert.deepEqual(boxesOf(ds, "t1.png"), [{ bbox: [40, 15, 20, 20], cat: "nodule" }]);
    assert.deepEqual(boxesOf(ds, "v1.png").map((b) => b.cat), ["cyst", "spare"]);
    const records = (JSON.parse(readFileSync(join(r.out, "annotations.json"), "utf8")) as { images: { source_split: string }[] }).images;
    assert.deepEqual(records.map((im) => im.source_split), ["train", "val"]);
    writeFileSync(join(root, "data.yaml"), "train: train/images\nnames: [a, b]\nnc: 3\n");
    assert.throws(() => readYoloLayout(root), /data.yaml: nc is 3 but names lists 2 classes/);
  });

  it("convert - Aperio XML regions (plain and gzip) become instance boxes, and tiling clips them, slivers becoming ignore regions", async () => {
    const root = tempDir();
    await writeImage(join(root, "images/s1.png"), 40, 40, rgbImage(40, 40, [200, 150, 200]), "png");
    await writeImage(join(root, "images/s2.png"), 40, 40, rgbImage(40, 40, [200, 150, 200]), "png");
    await writeImage(join(root, "images/s3.png"), 40, 40, rgbImage(40, 40, [200, 150, 200]), "png");
    const region = (id: number, pts: number[][]): string => `<Region Id="${id}"><Vertices>${pts.map(([x, y]) => `<Vertex X="${x}" Y="${y}" Z="0"/>`).join("")}</Vertices></Region>`;
    const doc = (regions: string[]): string => `<Annotations MicronsPerPixel="0.25"><Annotation Id="1"><Regions>${regions.join("")}</Regions></Annotation></Annotations>`;
    mkdirSync(join(root, "xml"));
    // s1: a nucleus inside the top-left tile, one across the vertical tile edge (x = 20) mostly on the left, and a degenerate region.
    writeFileSync(join(root, "xml/s1.xml"), doc([region(1, [[2, 2], [8.5, 2], [8.5, 6], [2, 6]]), region(2, [[10, 10], [21, 10], [21, 14], [10, 14]]), region(3, [[5, 5], [6, 6]])]));
    writeFileSync(join(root, "xml/s2.xml.gz"), gzipSync(doc([region(1, [[30, 30], [35, 30], [35, 36]])])));
    const whole = await convertAperio({ images: join(root, "images"), annotations: join(root, "xml"), category: "nucleus", out: join(tempDir(), "w") });
    assert.equal(whole.images, 2);
    assert.deepEqual(boxesOf(await valid(whole.out), "s1.png").map((b) => b.bbox), [[2, 2, 6.5, 4], [10, 10, 11, 4]]);
    assert.deepEqual(boxesOf(await valid(whole.out), "s2.png").map((b) => b.bbox), [[30, 30, 5, 6]]);
    assert.match(whole.skipped.join("\n"), /s1.xml: region 3 has 2 vertices and no area/);
    assert.match(whole.skipped.join("\n"), /1 id: s3 have no <id>\.xml or <id>\.xml\.gz/);
    const tiled = await convertAperio({ images: join(root, "images"), annotations: join(root, "xml"), category: "nucleus", tile: parseTileSpec("2x2"), out: join(tempDir(), "t") });
    assert.equal(tiled.images, 8);
    const ds = await valid(tiled.out);
    const coco = JSON.parse(readFileSync(join(tiled.out, "annotations.json"), "utf8")) as { images: { file_name: string; source_image: string }[]; annotations: { image_id: number; bbox: number[]; iscrowd: number }[] };
    const of = (file: string): number[][] => coco.annotations.filter((a) => coco.images[a.image_id - 1].file_name === `images/${file}`).map((a) => [...a.bbox, a.iscrowd]);
    // The edge-crossing nucleus keeps 10 of its 11 px on the left (an object) and 1 px on the right (a sliver: ignored).
    assert.deepEqual(of("s1_r0c0.png"), [[2, 2, 6.5, 4, 0], [10, 10, 10, 4, 0]]);
    assert.deepEqual(of("s1_r0c1.png"), [[0, 10, 1, 4, 1]]);
    assert.deepEqual(of("s2_r1c1.png"), [[10, 10, 5, 6, 0]]);
    assert.equal(coco.images.find((im) => im.file_name === "images/s2_r1c1.png")!.source_image, "s2");
    assert.equal(ds.images.every((im) => im.width === 20 && im.height === 20), true);
    assert.equal(tiled.negatives, 6);
    assert.throws(() => parseTileSpec("1x1"), /--tile must be ROWSxCOLS with at least two tiles/);
  });
});
