import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { lesionContrast, makeDataset, pixelStats, profileDataset, spread } from "../../../services/data/index.js";
import { rgbImage, tempDir, writeImage } from "./helpers.js";

describe("domain profile", () => {
  it("profile - spread gives interpolated 10th, 50th and 90th percentiles", () => {
    assert.deepEqual(spread([5, 1, 3, 2, 4]), { p10: 1.4, median: 3, p90: 4.6 });
    assert.ok(Number.isNaN(spread([]).median));
  });

  it("profile - pixel statistics: field-of-view colour, dark border, flat field has no Laplacian, lesion/surround ratio", () => {
    // 20x10: a black left border of 4 columns, grey (100,50,25) elsewhere, a (150,75,50) box.
    const img = rgbImage(20, 10, [100, 50, 25], [
      { box: [0, 0, 4, 10], color: [0, 0, 0] },
      { box: [10, 2, 4, 4], color: [150, 75, 50] },
    ]);
    const s = pixelStats(img, 20, 10, [[10, 2, 4, 4]]);
    assert.equal(s.dark, 40 / 200);
    const n = 160;
    assert.ok(Math.abs(s.rgb[0] - (144 * 100 + 16 * 150) / n) < 1e-9);
    assert.deepEqual(s.inside, [16 * 150, 16 * 75, 16 * 50, 16]);
    assert.deepEqual(s.outside, [144 * 100, 144 * 50, 144 * 25, 144]);
    const flat = pixelStats(rgbImage(12, 12, [90, 90, 90]), 12, 12);
    assert.equal(flat.lapVar, 0);
    assert.equal(flat.greyStd, 0);
    // A checkerboard is as sharp as 8-bit images get.
    const board = new Uint8Array(12 * 12 * 3);
    for (let i = 0; i < 144; i++) board.fill(((i % 12) + Math.floor(i / 12)) % 2 ? 200 : 40, i * 3, i * 3 + 3);
    assert.ok(pixelStats(board, 12, 12).lapVar > 1e5);
  });

  it("profile - lesion contrast: a smooth, pale, bright box on a noisy mucosa; the same box over mucosa alone stands out by nothing", () => {
    // 60x60 mucosa (120,60,40) with a ±12 grey checker texture; a smooth (170,100,80) lesion at (10,10) 16x16.
    const w = 60;
    const img = new Uint8Array(w * w * 3);
    for (let y = 0; y < w; y++) {
      for (let x = 0; x < w; x++) {
        const lesion = x >= 10 && x < 26 && y >= 10 && y < 26;
        const n = (x + y) % 2 ? 12 : -12;
        const [r, g, b] = lesion ? [170, 100, 80] : [120 + n, 60 + n, 40 + n];
        img.set([r, g, b], (y * w + x) * 3);
      }
    }
    const c = lesionContrast(img, w, w, [10, 10, 16, 16])!;
    const grey = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;
    const ringStd = grey(12, 12, 12);
    assert.ok(Math.abs(c.cnr - (grey(170, 100, 80) - grey(120, 60, 40)) / ringStd) < 0.05, `CNR ${c.cnr}`);
    assert.ok(Math.abs(c.luminance - grey(170, 100, 80) / grey(120, 60, 40)) < 0.01, `luminance ${c.luminance}`);
    // Chromaticity is averaged per pixel: the ring is half (132,72,52) and half (108,48,28).
    assert.ok(Math.abs(c.redStep - 100 * (170 / 350 - (132 / 256 + 108 / 184) / 2)) < 0.1, `red step ${c.redStep}`);
    assert.ok(c.redStep < 0 && c.greenStep > 0, "paler: less red, more green");
    assert.ok(c.texture < -5, `a smooth surface on a rough mucosa: texture ${c.texture}`);
    assert.ok(c.edge > 1, `its outline shows: edge ${c.edge}`);
    const mucosa = lesionContrast(img, w, w, [34, 34, 16, 16])!;
    assert.ok(mucosa.cnr < 0.05 && Math.abs(mucosa.texture) < 0.05 && Math.abs(mucosa.redStep) < 0.05, JSON.stringify(mucosa));
    assert.equal(lesionContrast(img, w, w, [0, 0, 3, 3]), null, "a core of fewer than 20 pixels is not measured");
  });

  it("profile - a dataset's boxes per image, negatives and relative box sizes come from every record", async () => {
    const dir = tempDir();
    for (const i of [1, 2, 3]) await writeImage(join(dir, "images", `${i}.png`), 40, 40, rgbImage(40, 40, [120, 60, 40], [{ box: [5, 5, 10, 10], color: [200, 100, 80] }]), "png");
    const ds = makeDataset(
      dir,
      [1, 2, 3].map((id) => ({ id, file_name: `images/${id}.png`, width: 40, height: 40 })),
      [
        { id: 1, image_id: 1, category_id: 1, bbox: [5, 5, 10, 10], area: 100, iscrowd: 0 },
        { id: 2, image_id: 1, category_id: 1, bbox: [0, 0, 20, 20], area: 400, iscrowd: 0 },
        { id: 3, image_id: 2, category_id: 1, bbox: [5, 5, 10, 10], area: 100, iscrowd: 0 },
        { id: 4, image_id: 3, category_id: 1, bbox: [5, 5, 10, 10], area: 100, iscrowd: 1 },
      ],
      [{ id: 1, name: "polyp", prompt: { prefix: "", name: "polyp", suffix: "" } }],
    );
    const p = await profileDataset("toy", ds, { workSide: 40 });
    assert.equal(p.images, 3);
    // Each frame's colour ratio: background (120, 60, 40) with a 100-pixel (200, 100, 80) lesion.
    const frameR = (1500 * 120 + 100 * 200) / 1600;
    const frameG = (1500 * 60 + 100 * 100) / 1600;
    const frameB = (1500 * 40 + 100 * 80) / 1600;
    assert.ok(Math.abs(p.frameGreenRed.median - frameG / frameR) < 1e-9, `frame G/R ${p.frameGreenRed.median}`);
    assert.ok(Math.abs(p.frameBlueRed.p90 - frameB / frameR) < 1e-9, `frame B/R ${p.frameBlueRed.p90}`);
    assert.equal(p.boxesPerImage.max, 2);
    assert.ok(Math.abs(p.boxesPerImage.mean - 1) < 1e-9, "crowd boxes do not count");
    assert.ok(Math.abs(p.negativeFraction - 1 / 3) < 1e-9);
    assert.deepEqual([p.relativeSize.p10, p.relativeSize.median, p.relativeSize.p90].map((v) => Number(v.toFixed(3))), [0.25, 0.25, 0.45]);
    // Inside the boxes: 200 lesion pixels (R 200) and 300 background (R 120). Outside: 4,200
    // background pixels and image 3's lesion, whose only box is a crowd box (not a box here).
    const inside = (200 * 200 + 300 * 120) / 500;
    const outside = (4200 * 120 + 100 * 200) / 4300;
    assert.ok(Math.abs(p.lesionRgbRatio[0] - inside / outside) < 1e-9, `lesion/surround R ${p.lesionRgbRatio[0]}`);
    // Conspicuity: images 1 and 2 have a (non-crowd) largest box; their reflected boxes see mucosa
    // (image 1's ring reaches a corner of the lesion, so its null is not quite 0).
    assert.equal(p.lesionConspicuity.images, 2);
    assert.ok(p.lesionConspicuity.cnr > 2 && p.lesionConspicuity.cnrNull < 0.5, JSON.stringify(p.lesionConspicuity));
    assert.ok(p.lesionConspicuity.luminance > 1.3 && p.lesionConspicuity.redStep < 0, JSON.stringify(p.lesionConspicuity));
  });
});
