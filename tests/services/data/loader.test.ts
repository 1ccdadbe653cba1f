import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import sharp from "sharp";
import {
  DataValidationError,
  decodeBmp,
  decodeImage,
  encodeBmp,
  iterateBatches,
  letterboxBox,
  loadCocoDataset,
  loadSample,
  parseAugmentSpec,
  unletterboxBox,
  type Sample,
} from "../../../services/data/index.js";
import { rgbImage, tempDir, writeDataset } from "./helpers.js";

async function fixture(): Promise<string> {
  const dir = tempDir();
  await writeDataset(dir, [
    { file: "images/a.png", width: 100, height: 50, format: "png", boxes: [[10, 5, 20, 10]] },
    { file: "images/b.jpg", width: 60, height: 80, format: "jpeg", boxes: [[30, 40, 20, 30], [2, 2, 10, 10]] },
    { file: "images/c.tif", width: 64, height: 64, format: "tiff", boxes: [[16, 16, 32, 16]] },
    { file: "images/d.bmp", width: 90, height: 70, format: "bmp", boxes: [[50, 20, 30, 30]] },
    { file: "images/e.png", width: 40, height: 40, format: "png", boxes: [] },
  ]);
  return dir;
}

/** Mean pixel value inside / outside the sample's boxes (the fixture draws white boxes on black). */
function insideOutside(s: Sample): { inside: number; outside: number } {
  let inS = 0;
  let inN = 0;
  let outS = 0;
  let outN = 0;
  for (let y = 0; y < s.size; y++) {
    for (let x = 0; x < s.size; x++) {
      let inside = false;
      let nearEdge = false;
      for (let b = 0; b < s.boxes.length / 4; b++) {
        const [x1, y1, x2, y2] = s.boxes.subarray(b * 4, b * 4 + 4);
        const cx = x + 0.5;
        const cy = y + 0.5;
        if (cx > x1 + 1.5 && cx < x2 - 1.5 && cy > y1 + 1.5 && cy < y2 - 1.5) inside = true;
        if (cx > x1 - 1.5 && cx < x2 + 1.5 && cy > y1 - 1.5 && cy < y2 + 1.5) nearEdge = true;
      }
      const v = s.pixels[(y * s.size + x) * 3];
      if (inside) {
        inS += v;
        inN++;
      } else if (!nearEdge) {
        outS += v;
        outN++;
      }
    }
  }
  return { inside: inN ? inS / inN : 1, outside: outN ? outS / outN : 0 };
}

describe("data loader", () => {
  it("loader - loads metadata only and indexes annotations by image", async () => {
    const ds = await loadCocoDataset(await fixture());
    assert.equal(ds.images.length, 5);
    assert.equal(ds.annotations.length, 5);
    assert.deepEqual(ds.categories[0].prompt.name, "pink yellow red color oval bump");
    assert.equal(ds.annotationsByImage.get(2)?.length, 2);
    assert.deepEqual(ds.annotationsByImage.get(5), []);
  });

  it("loader - decodes PNG, JPEG, TIFF and BMP to the same pixels", async () => {
    const dir = tempDir();
    const data = rgbImage(33, 21, [200, 30, 90], [{ box: [3, 4, 10, 5], color: [10, 240, 20] }]);
    const { writeImage } = await import("./helpers.js");
    for (const f of ["png", "tiff", "bmp"] as const) await writeImage(join(dir, `x.${f}`), 33, 21, data, f);
    for (const f of ["png", "tiff", "bmp"]) {
      const img = await decodeImage(join(dir, `x.${f}`));
      assert.equal(img.width, 33);
      assert.equal(img.height, 21);
      assert.deepEqual(Buffer.from(img.data), Buffer.from(data), f);
    }
    // Grey and 16-bit PNGs come out as 8-bit RGB.
    await sharp(Buffer.from(new Uint8Array(8 * 4).fill(128)), { raw: { width: 8, height: 4, channels: 1 } }).toColourspace("b-w").png().toFile(join(dir, "g.png"));
    const g = await decodeImage(join(dir, "g.png"));
    assert.equal(g.data.length, 8 * 4 * 3);
    assert.ok(g.data.every((v) => Math.abs(v - 128) <= 1));
    await sharp(Buffer.from(data), { raw: { width: 33, height: 21, channels: 3 } }).toColourspace("rgb16").png().toFile(join(dir, "w.png"));
    const w16 = await decodeImage(join(dir, "w.png"));
    assert.equal(w16.data.length, 33 * 21 * 3);
    assert.ok(Math.abs(w16.data[0] - 200) <= 1);
  });

  it("loader - BMP decoder handles top-down rows and 8-bit palettes", () => {
    const data = rgbImage(5, 3, [1, 2, 3], [{ box: [0, 0, 2, 1], color: [250, 0, 0] }]);
    const bottomUp = encodeBmp({ width: 5, height: 3, data });
    assert.deepEqual(Buffer.from(decodeBmp(bottomUp).data), Buffer.from(data));
    // Top-down: negative height and rows stored first-to-last.
    const stride = 16;
    const topDown = Buffer.from(bottomUp);
    topDown.writeInt32LE(-3, 22);
    for (let y = 0; y < 3; y++) bottomUp.copy(topDown, 54 + y * stride, 54 + (2 - y) * stride, 54 + (3 - y) * stride);
    assert.deepEqual(Buffer.from(decodeBmp(topDown).data), Buffer.from(data));
    // 8-bit palette: 2 colours, 4x2 pixels, rows padded to 4 bytes.
    const pal = Buffer.alloc(54 + 8 + 8);
    pal.write("BM", 0, "latin1");
    pal.writeUInt32LE(pal.length, 2);
    pal.writeUInt32LE(62, 10);
    pal.writeUInt32LE(40, 14);
    pal.writeInt32LE(4, 18);
    pal.writeInt32LE(2, 22);
    pal.writeUInt16LE(1, 26);
    pal.writeUInt16LE(8, 28);
    pal.writeUInt32LE(2, 46);
    Buffer.from([0, 0, 255, 0, 255, 0, 0, 0]).copy(pal, 54); // index 0 = red, 1 = blue (BGRA)
    Buffer.from([0, 1, 0, 1, 1, 1, 0, 0]).copy(pal, 62); // bottom row then top row
    const dec = decodeBmp(pal);
    assert.deepEqual([...dec.data.subarray(0, 6)], [0, 0, 255, 0, 0, 255]);
    assert.deepEqual([...dec.data.subarray(12, 18)], [255, 0, 0, 0, 0, 255]);
  });

  it("loader - letterbox keeps the aspect ratio, pads, and maps boxes", async () => {
    const ds = await loadCocoDataset(await fixture());
    const s = await loadSample(ds, 0, { size: 64 });
    assert.equal(s.pixels.length, 64 * 64 * 3);
    assert.equal(s.transform.scale, 0.64);
    assert.equal(s.transform.padX, 0);
    assert.equal(s.transform.padY, 16);
    assert.deepEqual([...s.boxes].map((v) => +v.toFixed(3)), [6.4, 19.2, 19.2, 25.6]);
    assert.deepEqual([...s.labels], [1]);
    assert.equal(s.pixels[0], 0); // padding row
    const px = (x: number, y: number): number => s.pixels[(y * 64 + x) * 3];
    assert.ok(px(12, 22) > 0.9, "inside the white box");
    assert.ok(px(40, 40) < 0.1, "black image outside the box");
    for (let i = 0; i < ds.images.length; i++) {
      const t = await loadSample(ds, i, { size: 48 });
      const { inside, outside } = insideOutside(t);
      assert.ok(inside > 0.85 && outside < 0.15, `image ${i + 1}: inside ${inside} outside ${outside}`);
    }
  });

  it("loader - the --augment spec: none, keys over the defaults, and errors that name the bad part", () => {
    assert.equal(parseAugmentSpec("none"), false);
    assert.deepEqual(parseAugmentSpec(""), { flip: true, scaleJitter: 0.2, colorJitter: 0.2 });
    assert.deepEqual(parseAugmentSpec("scale=0.4, color=0"), { flip: true, scaleJitter: 0.4, colorJitter: 0 });
    assert.deepEqual(parseAugmentSpec("flip=0"), { flip: false, scaleJitter: 0.2, colorJitter: 0.2 });
    assert.throws(() => parseAugmentSpec("flip=2"), /"flip=2".*keys are flip \(0 or 1\)/);
    assert.throws(() => parseAugmentSpec("scale"), /"scale" is not key=number/);
    assert.throws(() => parseAugmentSpec("hue=0.1"), /"hue=0.1"/);
    assert.throws(() => parseAugmentSpec("scale=1.5"), /scaleJitter must be in \[0, 1\)/);
  });

  it("loader - seeded augmentation is reproducible and boxes follow the pixels", async () => {
    const ds = await loadCocoDataset(await fixture());
    const augment = { flip: true, scaleJitter: 0.3, colorJitter: 0 };
    const a = await loadSample(ds, 3, { size: 64, augment, seed: 7 });
    const b = await loadSample(ds, 3, { size: 64, augment, seed: 7 });
    assert.deepEqual(a.pixels, b.pixels);
    assert.deepEqual(a.boxes, b.boxes);
    let flips = 0;
    const scales = new Set<number>();
    for (let seed = 0; seed < 24; seed++) {
      for (const idx of [0, 1, 3]) {
        const s = await loadSample(ds, idx, { size: 64, augment, seed });
        if (s.transform.flipped) flips++;
        scales.add(s.transform.scale);
        if (s.boxes.length === 0) continue;
        const { inside, outside } = insideOutside(s);
        assert.ok(inside > 0.8 && outside < 0.2, `seed ${seed} image ${idx}: inside ${inside} outside ${outside}`);
      }
    }
    assert.ok(flips > 10 && flips < 62, `flips ${flips}`);
    assert.ok(scales.size > 20);
    const cj = await loadSample(ds, 0, { size: 64, augment: { flip: false, scaleJitter: 0, colorJitter: 0.4 }, seed: 3 });
    const plain = await loadSample(ds, 0, { size: 64 });
    assert.notDeepEqual(cj.pixels, plain.pixels);
    assert.deepEqual(cj.boxes, plain.boxes);
  });

  it("loader - unletterboxBox inverts the transform, with flips and crops", async () => {
    const ds = await loadCocoDataset(await fixture());
    for (let seed = 0; seed < 10; seed++) {
      const s = await loadSample(ds, 1, { size: 96, augment: { flip: true, scaleJitter: 0.2, colorJitter: 0 }, seed });
      const ann = ds.annotationsByImage.get(2)![0];
      const back = unletterboxBox(letterboxBox(ann.bbox, s.transform), s.transform);
      back.forEach((v, k) => assert.ok(Math.abs(v - ann.bbox[k]) < 1e-6, `seed ${seed}: ${back} vs ${ann.bbox}`));
    }
    const t = { scale: 0.5, padX: 0, padY: 10, flipped: false, origWidth: 100, origHeight: 60, size: 50 };
    assert.deepEqual(unletterboxBox([-5, 0, 60, 30], t), [0, 0, 100, 40]);
  });

  it("loader - iterateBatches is lazy, complete, seeded and honours indices", async () => {
    const ds = await loadCocoDataset(await fixture());
    const seen: number[] = [];
    const sizes: number[] = [];
    for await (const batch of iterateBatches(ds, { batchSize: 2, size: 32, seed: 1, shuffle: true })) {
      sizes.push(batch.length);
      seen.push(...batch.map((s) => s.imageId));
    }
    assert.deepEqual(sizes, [2, 2, 1]);
    assert.deepEqual([...seen].sort(), [1, 2, 3, 4, 5]);
    const again: number[] = [];
    for await (const batch of iterateBatches(ds, { batchSize: 2, size: 32, seed: 1, shuffle: true })) again.push(...batch.map((s) => s.imageId));
    assert.deepEqual(again, seen);
    const sub: number[] = [];
    for await (const batch of iterateBatches(ds, { batchSize: 4, size: 32, seed: 1, indices: [4, 0] })) sub.push(...batch.map((s) => s.imageId));
    assert.deepEqual(sub, [5, 1]);
  });

  it("loader - refuses invalid data with file, record and field, never crashes", async () => {
    const dir = await fixture();
    const coco = JSON.parse(readFileSync(join(dir, "annotations.json"), "utf8"));
    coco.annotations[0].bbox = [90, 5, 20, 10];
    writeFileSync(join(dir, "annotations.json"), JSON.stringify(coco));
    await assert.rejects(loadCocoDataset(dir), (err: unknown) => {
      assert.ok(err instanceof DataValidationError);
      assert.equal(err.problems.length, 1);
      assert.equal(err.problems[0].record, "annotation 1");
      assert.equal(err.problems[0].field, "bbox");
      assert.match(err.message, /annotations\.json: annotation 1: bbox: .*outside image 1/);
      return true;
    });
    // A file that breaks after loading: loadSample reports it the same way.
    const ok = await fixture();
    const ds = await loadCocoDataset(ok);
    writeFileSync(join(ok, "images/b.jpg"), "not a jpeg");
    await assert.rejects(loadSample(ds, 1, { size: 32 }), (err: unknown) => err instanceof DataValidationError && err.problems[0].record === "image 2" && /b\.jpg/.test(err.problems[0].file));
  });
});
