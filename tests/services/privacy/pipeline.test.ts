import { strict as assert } from "node:assert";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import exifr from "exifr";
import sharp from "sharp";
import {
  auditLogPath,
  defaultExemplarPipelineOptions,
  exemplarStatePath,
  parseExemplarPipelineOptions,
  phash64,
  runExemplarPipeline,
  verifyAuditLog,
  type ExemplarCandidate,
} from "../../../services/privacy/index.js";
import { insertPngChunk, pngChunk, pngChunkTypes, privacyConfig, sceneRgb, SECRET, tempDir, writePng } from "./fixtures.js";

const IHDR_KEYS = new Set(["ImageWidth", "ImageHeight", "BitDepth", "ColorType", "Compression", "Filter", "Interlace"]);

function cand(id: string, path: string, w: number, h: number, over: Partial<ExemplarCandidate> = {}): ExemplarCandidate {
  return { recordId: id, imagePath: path, shareable: true, boxes: [], width: w, height: h, ...over };
}

const fixedNow = () => new Date("2025-01-02T03:04:05.000Z");

describe("privacy pipeline", () => {
  it("metadata - GPS EXIF, copyright and a PNG tEXt chunk do not survive re-encoding", async () => {
    const dir = tempDir();
    const raw = sceneRgb(96, 64, 1);
    const jpg = join(dir, "gps.jpg");
    await sharp(raw, { raw: { width: 96, height: 64, channels: 3 } })
      .jpeg()
      .withExif({
        IFD0: { Copyright: "St Elsewhere Hospital", Artist: "Dr Jane Roe" },
        IFD3: { GPSLatitudeRef: "N", GPSLatitude: "51/1 30/1 0/1", GPSLongitudeRef: "W", GPSLongitude: "0/1 7/1 0/1" },
      })
      .toFile(jpg);
    const pngPlain = await sharp(sceneRgb(96, 64, 2), { raw: { width: 96, height: 64, channels: 3 } }).png().toBuffer();
    const png = join(dir, "text.png");
    writeFileSync(png, insertPngChunk(pngPlain, pngChunk("tEXt", Buffer.from("Comment\0Patient: John Doe, MRN 12345", "latin1"))));
    // The fixtures really carry the metadata.
    assert.equal((await exifr.gps(jpg))?.latitude, 51.5);
    assert.ok(pngChunkTypes(readFileSync(png)).includes("tEXt"));

    const res = await runExemplarPipeline([cand("r1", jpg, 96, 64), cand("r2", png, 96, 64)], {
      site: "site-a",
      config: privacyConfig(),
      siteSecret: SECRET,
      stateDir: dir,
      now: fixedNow,
    });
    assert.deepEqual(res.refused, []);
    assert.equal(res.exported.length, 2);
    for (const e of res.exported) {
      assert.equal(e.mime, "image/png");
      const types = pngChunkTypes(e.bytes);
      // Only image data and the pixel aspect (pHYs, written by the encoder, not copied) may remain.
      assert.deepEqual(types.filter((t) => !["IHDR", "IDAT", "IEND", "pHYs"].includes(t)), [], `chunks ${types.join(",")}`);
      assert.equal(await exifr.gps(e.bytes), undefined);
      const parsed = ((await exifr.parse(e.bytes, { tiff: true, xmp: true, iptc: true, icc: true })) ?? {}) as Record<string, unknown>;
      assert.deepEqual(Object.keys(parsed).filter((k) => !IHDR_KEYS.has(k)), []);
      assert.ok(!e.bytes.toString("latin1").includes("John Doe"));
      assert.ok(!e.bytes.toString("latin1").includes("Elsewhere"));
    }
    const jpgStage = res.exported[0].provenance.stages.find((s) => s.name === "metadata");
    assert.ok(jpgStage?.removed?.some((r) => r.startsWith("exif")));
    const pngStage = res.exported[1].provenance.stages.find((s) => s.name === "metadata");
    assert.ok(pngStage?.removed?.some((r) => r.includes('"Comment"')), JSON.stringify(pngStage));
  });

  it("policy - non-shareable records, records over budget and over the per-patient cap are never exported", async () => {
    const dir = tempDir();
    const files = await Promise.all([0, 1, 2, 3, 4].map((i) => writePng(join(dir, `p${i}.png`), 64, 48, 100 + i * 37)));
    const config = privacyConfig({ exemplarBudget: 3, perPatientCap: 1, dedupeHamming: 0 });
    const res = await runExemplarPipeline(
      [
        cand("secret", files[0], 64, 48, { shareable: false }),
        cand("a1", files[1], 64, 48, { patientKey: "MRN-1" }),
        cand("a2", files[2], 64, 48, { patientKey: "MRN-1" }),
        cand("b1", files[3], 64, 48, { patientKey: "MRN-2" }),
      ],
      { site: "site-a", config, siteSecret: SECRET, stateDir: dir, now: fixedNow },
    );
    assert.deepEqual(res.exported.map((e) => e.recordId), ["a1", "b1"]);
    assert.deepEqual(res.refused.map((r) => [r.recordId, r.stage]), [["secret", "policy"], ["a2", "policy"]]);
    assert.match(res.refused[0].reason, /shareable/);
    assert.match(res.refused[1].reason, /per-patient cap/);
    // The budget is persisted: one export left, then nothing.
    const res2 = await runExemplarPipeline([cand("c1", files[4], 64, 48), cand("c2", files[0], 64, 48)], { site: "site-a", config, siteSecret: SECRET, stateDir: dir });
    assert.deepEqual(res2.exported.map((e) => e.recordId), ["c1"]);
    assert.equal(res2.refused[0].recordId, "c2");
    assert.match(res2.refused[0].reason, /budget of 3 is used up/);
    const state = JSON.parse(readFileSync(exemplarStatePath(dir, "site-a"), "utf8")) as { exported: number };
    assert.equal(state.exported, 3);
  });

  it("policy - k-anonymity refuses records whose quasi-identifier group is smaller than k", async () => {
    const dir = tempDir();
    const files = await Promise.all([0, 1, 2, 3].map((i) => writePng(join(dir, `k${i}.png`), 64, 48, 300 + i * 91)));
    const qi = (age: string) => ({ ageBand: age, sex: "F" });
    const res = await runExemplarPipeline(
      [
        cand("x1", files[0], 64, 48, { quasiIdentifiers: qi("40-49") }),
        cand("x2", files[1], 64, 48, { quasiIdentifiers: qi("40-49") }),
        cand("lonely", files[2], 64, 48, { quasiIdentifiers: qi("90+") }),
        cand("none", files[3], 64, 48),
      ],
      { site: "site-a", config: privacyConfig({ kAnonymity: 2, dedupeHamming: 0 }), siteSecret: SECRET, stateDir: dir },
    );
    assert.deepEqual(res.exported.map((e) => e.recordId), ["x1", "x2"]);
    assert.deepEqual(res.refused.map((r) => r.recordId), ["lonely", "none"]);
    assert.match(res.refused[0].reason, /fewer than k=2/);
  });

  it("pixels - black border cropped, overlay masked, boxes moved, downscaled to maxSide", async () => {
    const dir = tempDir();
    const w = 400;
    const h = 300;
    const border = 20;
    const raw = sceneRgb(w, h, 7, border);
    // A bright "scope inset" in the bottom-right corner that must end up black.
    for (let y = 240; y < 280; y++) for (let x = 330; x < 380; x++) raw.set([0, 255, 0], (y * w + x) * 3);
    const file = join(dir, "scene.png");
    await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
    const options = parseExemplarPipelineOptions({ overlayRegions: [{ x: 0.8, y: 0.75, w: 0.2, h: 0.25, label: "scope inset" }] });
    const res = await runExemplarPipeline(
      [
        cand("r", file, w, h, {
          boxes: [
            { bbox: [100, 100, 40, 30], category_id: 1 },
            { bbox: [335, 245, 30, 20], category_id: 2 }, // under the inset mask
            { bbox: [0, 0, 15, 15], category_id: 3 }, // in the black border
          ],
        }),
      ],
      { site: "site-a", config: privacyConfig({ maxSide: 180 }), siteSecret: SECRET, stateDir: dir, options },
    );
    assert.deepEqual(res.refused, []);
    const e = res.exported[0];
    // Content is 360x260 at (20,20); longest side 360 -> 180, so scale 0.5.
    assert.equal(e.width, 180);
    assert.equal(e.height, 130);
    assert.equal(e.boxes.length, 1);
    assert.deepEqual(e.boxes[0], { bbox: [40, 40, 20, 15], category_id: 1 });
    const px = await sharp(e.bytes).raw().toBuffer({ resolveWithObject: true });
    assert.equal(px.info.width, 180);
    // The inset region (scaled) holds no green.
    for (let y = 112; y < 128; y++) for (let x = 160; x < 175; x++) assert.ok(px.data[(y * 180 + x) * px.info.channels + 1] < 40, `green at ${x},${y}`);
    const stage = e.provenance.stages.find((s) => s.name === "pixels")!;
    assert.ok(stage.removed!.some((r) => r.startsWith("masked scope inset")));
    assert.ok(stage.removed!.some((r) => r.startsWith("black border")));
    assert.ok(stage.removed!.some((r) => r.startsWith("resolution")));
    assert.ok(stage.removed!.some((r) => r.includes("under a mask")));
  });

  it("pixels - ROI crop keeps the lesion plus margin and refuses a record whose boxes all vanish", async () => {
    const dir = tempDir();
    const file = await writePng(join(dir, "roi.png"), 200, 200, 11);
    const options = parseExemplarPipelineOptions({ roiCrop: true, roiMargin: 0.5, overlayRegions: [{ x: 0, y: 0, w: 0.5, h: 0.5 }] });
    const res = await runExemplarPipeline(
      [cand("roi", file, 200, 200, { boxes: [{ bbox: [120, 120, 20, 20], category_id: 1 }] }), cand("gone", file, 200, 200, { boxes: [{ bbox: [10, 10, 30, 30], category_id: 1 }] })],
      { site: "site-a", config: privacyConfig({ maxSide: 512 }), siteSecret: SECRET, stateDir: dir, options },
    );
    assert.equal(res.exported.length, 1);
    const e = res.exported[0];
    assert.equal(e.width, 40);
    assert.equal(e.height, 40);
    assert.deepEqual(e.boxes[0].bbox, [10, 10, 20, 20]);
    assert.deepEqual(res.refused.map((r) => [r.recordId, r.stage]), [["gone", "pixels"]]);
  });

  it("dedupe - a near duplicate of anything exported before is refused, also in a later run", async () => {
    const dir = tempDir();
    const a = await writePng(join(dir, "a.png"), 128, 96, 21);
    // The same scene, slightly brighter and re-encoded as JPEG: a near duplicate.
    const raw = sceneRgb(128, 96, 21).map((v) => Math.min(255, v + 6));
    const b = join(dir, "b.jpg");
    await sharp(Buffer.from(raw), { raw: { width: 128, height: 96, channels: 3 } }).jpeg({ quality: 80 }).toFile(b);
    const c = await writePng(join(dir, "c.png"), 128, 96, 977);
    const ctx = { site: "site-a", config: privacyConfig(), siteSecret: SECRET, stateDir: dir };
    const r1 = await runExemplarPipeline([cand("a", a, 128, 96)], ctx);
    assert.equal(r1.exported.length, 1);
    const r2 = await runExemplarPipeline([cand("b", b, 128, 96), cand("c", c, 128, 96)], ctx);
    assert.deepEqual(r2.refused.map((r) => [r.recordId, r.stage]), [["b", "dedupe"]]);
    assert.match(r2.refused[0].reason, new RegExp(r1.exported[0].sha256.slice(0, 12)));
    assert.deepEqual(r2.exported.map((e) => e.recordId), ["c"]);
  });

  it("reoffer - a record exported in an earlier run is sent again with the same bytes, spends no budget, and is logged", async () => {
    const dir = tempDir();
    const a = await writePng(join(dir, "a.png"), 96, 64, 41);
    const b = await writePng(join(dir, "b.png"), 96, 64, 877);
    const ctx = { site: "site-a", config: privacyConfig({ exemplarBudget: 1, perPatientCap: 1 }), siteSecret: SECRET, stateDir: dir };
    const first = await runExemplarPipeline([cand("a", a, 96, 64, { patientKey: "P1" })], ctx);
    assert.equal(first.exported.length, 1);
    // A later run asks again: "a" is re-offered (the budget of 1 and the cap of 1 are already used by
    // it), while the new record "b" still meets the spent budget.
    rmSync(exemplarStatePath(dir, "site-a")); // and the cache is rebuilt from the log on the way
    const later = await runExemplarPipeline([cand("a", a, 96, 64, { patientKey: "P1" }), cand("b", b, 96, 64)], ctx);
    assert.deepEqual(later.exported.map((e) => [e.recordId, e.sha256]), [["a", first.exported[0].sha256]]);
    assert.deepEqual(Buffer.compare(later.exported[0].bytes, first.exported[0].bytes), 0);
    assert.deepEqual(later.exported[0].provenance.stages.map((st) => st.name).slice(-1), ["reoffer"]);
    assert.deepEqual(later.refused.map((r) => [r.recordId, r.stage]), [["b", "policy"]]);
    assert.match(later.refused[0].reason, /budget of 1 is used up/);
    const log = auditLogPath(dir, "site-a");
    assert.deepEqual(verifyAuditLog(log), { ok: true, entries: 2 });
    const entries = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(entries.map((e) => e.type), ["exemplar-export", "exemplar-reoffer"]);
    assert.equal(entries[1].contentSha256, first.exported[0].sha256);
    const state = JSON.parse(readFileSync(exemplarStatePath(dir, "site-a"), "utf8")) as { exported: number };
    assert.equal(state.exported, 1, "a re-offer is not a new export");
    // Different bytes for the same record (here: another output format) are a new disclosure.
    const jpeg = await runExemplarPipeline([cand("a", a, 96, 64, { patientKey: "P1" })], { ...ctx, options: { ...defaultExemplarPipelineOptions(), format: "jpeg" } });
    assert.deepEqual(jpeg.refused.map((r) => r.stage), ["policy"]);
  });

  it("audit - one chained entry per export, rebuilt state matches, one flipped byte is named", async () => {
    const dir = tempDir();
    const files = await Promise.all([0, 1, 2].map((i) => writePng(join(dir, `t${i}.png`), 64, 64, 500 + i * 71)));
    const res = await runExemplarPipeline(
      files.map((f, i) => cand(`rec-${i}`, f, 64, 64, { patientKey: `P${i}` })),
      { site: "site-a", config: privacyConfig({ dedupeHamming: 0 }), siteSecret: SECRET, stateDir: dir, now: fixedNow },
    );
    assert.equal(res.exported.length, 3);
    const log = auditLogPath(dir, "site-a");
    assert.deepEqual(verifyAuditLog(log), { ok: true, entries: 3 });
    const lines = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines[1].prevHash, lines[0].hash);
    assert.equal(lines[2].contentSha256, res.exported[2].sha256);
    assert.equal(lines[2].sourceHmac, res.exported[2].provenance.sourceHmac);
    assert.equal(lines[0].time, "2025-01-02T03:04:05.000Z");
    assert.ok(!JSON.stringify(lines).includes("rec-0"), "record ids never reach the log in clear");
    assert.ok(!JSON.stringify(lines).includes("P0"));
    // The exported provenance matches the log.
    assert.deepEqual(lines[0].stages, res.exported[0].provenance.stages);

    // Deleting the state cache changes nothing: it is rebuilt from the log.
    rmSync(exemplarStatePath(dir, "site-a"));
    const again = await runExemplarPipeline([cand("dup", files[0], 64, 64)], { site: "site-a", config: privacyConfig({ dedupeHamming: 0 }), siteSecret: SECRET, stateDir: dir });
    assert.equal(again.refused[0]?.stage, "dedupe");

    // Flip one byte inside entry 2 (a digit of its content hash).
    const text = readFileSync(log, "utf8");
    const start = text.indexOf("\n") + 1;
    const at = text.indexOf('"contentSha256":"', start) + 20;
    const flipped = text.slice(0, at) + (text[at] === "a" ? "b" : "a") + text.slice(at + 1);
    writeFileSync(log, flipped);
    const v = verifyAuditLog(log);
    assert.equal(v.ok, false);
    assert.equal(v.firstBroken?.line, 2);
    assert.match(v.firstBroken!.reason, /entry 2 .*modified/);
    // A broken log stops further exports.
    await assert.rejects(
      runExemplarPipeline([cand("more", files[1], 64, 64)], { site: "site-a", config: privacyConfig(), siteSecret: SECRET, stateDir: dir }),
      /audit log is broken/,
    );
  });

  it("pipeline - a missing site secret is a clear error", async () => {
    await assert.rejects(
      runExemplarPipeline([], { site: "s", config: privacyConfig(), siteSecret: "short", stateDir: tempDir() }),
      /site secret/,
    );
  });

  it("phash - identical scenes hash equal, different scenes far apart", () => {
    const a = { width: 64, height: 64, data: new Uint8Array(sceneRgb(64, 64, 1)) };
    const b = { width: 64, height: 64, data: new Uint8Array(sceneRgb(64, 64, 999)) };
    assert.equal(phash64(a), phash64({ ...a, data: new Uint8Array(a.data) }));
    assert.notEqual(phash64(a), phash64(b));
  });
});
