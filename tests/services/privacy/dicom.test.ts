import { strict as assert } from "node:assert";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import dcmjs, { type DicomDataset } from "dcmjs";
import sharp from "sharp";
import { basicProfileTable, deidentifyDicom, DicomBudgetError, remapUid, renderDicomFrame, resolveAction, runDicomJob, runExemplarPipeline } from "../../../services/privacy/index.js";
import { readDicom } from "../../../services/privacy/dicom/deidentify.js";
import { skipUnless } from "../../helpers/ci.js";
import { explicitElement, implicitElement } from "../../helpers/dicom.js";
import { privacyConfig, SECRET, tempDir, writeBytes } from "./fixtures.js";

const UIDS = {
  study: "1.2.826.0.1.3680043.2.1125.1.11111111111111111111",
  series: "1.2.826.0.1.3680043.2.1125.1.22222222222222222222",
  sop: "1.2.826.0.1.3680043.2.1125.1.33333333333333333333",
  frame: "1.2.826.0.1.3680043.2.1125.1.44444444444444444444",
  refImage: "1.2.826.0.1.3680043.2.1125.1.55555555555555555555",
};
const PHI = ["Doe^John", "MRN-123456", "St Elsewhere", "19600101", "20240305", "ACC-998877", "House^Gregory", "secret private note", "HOSPITALPACS", "Other-ID-42"];

/** A secondary-capture image with PHI in the usual places, private tags and a nested sequence. */
function syntheticDicom(): Buffer {
  const pixels = new Uint8Array(16 * 16);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7) % 256;
  const meta: DicomDataset = {
    "00020001": { vr: "OB", Value: [new Uint8Array([0, 1]).buffer] },
    "00020002": { vr: "UI", Value: ["1.2.840.10008.5.1.4.1.1.7"] },
    "00020003": { vr: "UI", Value: [UIDS.sop] },
    "00020010": { vr: "UI", Value: ["1.2.840.10008.1.2.1"] },
    "00020012": { vr: "UI", Value: ["1.2.826.0.1.3680043.2.1125.99"] },
    "00020016": { vr: "AE", Value: ["HOSPITALPACS"] },
  };
  const dict: DicomDataset = {
    "00080016": { vr: "UI", Value: ["1.2.840.10008.5.1.4.1.1.7"] },
    "00080018": { vr: "UI", Value: [UIDS.sop] },
    "00080020": { vr: "DA", Value: ["20240305"] },
    "00080021": { vr: "DA", Value: ["20240305"] },
    "00080023": { vr: "DA", Value: ["20240305"] },
    "00080030": { vr: "TM", Value: ["101010"] },
    "00080050": { vr: "SH", Value: ["ACC-998877"] },
    "00080060": { vr: "CS", Value: ["ES"] },
    "00080080": { vr: "LO", Value: ["St Elsewhere Hospital"] },
    "00080081": { vr: "ST", Value: ["1 Main Street, St Elsewhere"] },
    "00080090": { vr: "PN", Value: [{ Alphabetic: "House^Gregory" }] },
    "00081032": {
      vr: "SQ",
      Value: [{ "00080100": { vr: "SH", Value: ["COLO"] }, "00100020": { vr: "LO", Value: ["MRN-123456"] } }],
    },
    "00081140": { vr: "SQ", Value: [{ "00081150": { vr: "UI", Value: ["1.2.840.10008.5.1.4.1.1.7"] }, "00081155": { vr: "UI", Value: [UIDS.refImage] } }] },
    "00090010": { vr: "LO", Value: ["ACME_PRIVATE"] },
    "00091001": { vr: "LO", Value: ["secret private note"] },
    "00100010": { vr: "PN", Value: [{ Alphabetic: "Doe^John" }] },
    "00100020": { vr: "LO", Value: ["MRN-123456"] },
    "00100030": { vr: "DA", Value: ["19600101"] },
    "00100040": { vr: "CS", Value: ["M"] },
    "00101002": { vr: "SQ", Value: [{ "00100020": { vr: "LO", Value: ["Other-ID-42"] } }] },
    "00200010": { vr: "SH", Value: ["STUDY7"] },
    "0020000D": { vr: "UI", Value: [UIDS.study] },
    "0020000E": { vr: "UI", Value: [UIDS.series] },
    "00200052": { vr: "UI", Value: [UIDS.frame] },
    "00280002": { vr: "US", Value: [1] },
    "00280004": { vr: "CS", Value: ["MONOCHROME2"] },
    "00280010": { vr: "US", Value: [16] },
    "00280011": { vr: "US", Value: [16] },
    "00280100": { vr: "US", Value: [8] },
    "00280101": { vr: "US", Value: [8] },
    "00280102": { vr: "US", Value: [7] },
    "00280103": { vr: "US", Value: [0] },
    "00291010": { vr: "OB", Value: [new Uint8Array([1, 2, 3, 4]).buffer] },
    "7FE00010": { vr: "OB", Value: [pixels.buffer] },
  };
  const d = new dcmjs.data.DicomDict(meta);
  d.dict = dict;
  return Buffer.from(d.write());
}

/** `syntheticDicom()` with `extra` (whole elements) inserted before the pixel data, keeping tag order. */
function withElementsBeforePixels(extra: Buffer): Buffer {
  const src = syntheticDicom();
  const at = src.indexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00]));
  assert.ok(at > 132, "the fixture has pixel data");
  return Buffer.concat([src.subarray(0, at), extra, src.subarray(at)]);
}

function allTags(ds: DicomDataset, out: string[] = []): string[] {
  for (const [tag, el] of Object.entries(ds)) {
    out.push(tag);
    if (el.vr === "SQ") for (const item of el.Value ?? []) allTags(item as DicomDataset, out);
  }
  return out;
}

/** Zero length after a round trip: absent Value, [] or [""] as dcmjs reads an empty string. */
function emptied(ds: DicomDataset, tag: string): boolean {
  const el = ds[tag];
  return el !== undefined && (el.Value ?? []).every((v) => v === "" || v === null || v === undefined);
}

function first(ds: DicomDataset, tag: string): unknown {
  return ds[tag]?.Value?.[0];
}

const UID_RE = /^2\.25\.(0|[1-9][0-9]*)$/;

describe("dicom de-identification", () => {
  it("dicom - profile table parses every action code and resolves combined codes to the basic choice", () => {
    const t = basicProfileTable();
    assert.ok(t.size > 550, `table has ${t.size} rows`);
    assert.equal(t.get("00100010")?.action, "Z");
    assert.equal(t.get("00080080")?.action, "X/Z/D");
    assert.equal(t.get("0020000D")?.action, "U");
    assert.equal(resolveAction("X/Z/D"), "X");
    assert.equal(resolveAction("Z/D"), "Z");
    assert.equal(resolveAction("X/Z/U*", true), "U*");
    assert.equal(resolveAction("X/D", true), "D");
  });

  it("dicom - PatientName, PatientID, institution, dates and private tags are gone or replaced per profile", () => {
    const src = syntheticDicom();
    for (const p of PHI) assert.ok(src.includes(p), `fixture carries ${p}`);
    const r = deidentifyDicom(src, { siteSecret: SECRET });
    const back = readDicom(r.bytes);
    const ds = back.dict;
    for (const p of PHI) assert.ok(!r.bytes.includes(p), `${p} survived de-identification`);
    // Z: present with zero length.
    assert.ok(emptied(ds, "00100010"), "00100010 should be zero length");
    assert.ok(emptied(ds, "00100020"), "00100020 should be zero length");
    assert.ok(emptied(ds, "00080020"), "00080020 should be zero length");
    assert.ok(emptied(ds, "00080050"), "00080050 should be zero length");
    // X: removed.
    for (const tag of ["00080080", "00080081", "00080021", "00101002", "00081140"]) assert.equal(ds[tag], undefined, `${tag} should be removed`);
    // Private groups are gone at every level.
    assert.deepEqual(allTags(ds).filter((t) => parseInt(t.slice(0, 4), 16) % 2 === 1), []);
    // The profile recurses into kept sequences.
    const item = (ds["00081032"].Value![0] as DicomDataset);
    assert.equal(first(item, "00080100"), "COLO");
    assert.ok(emptied(item, "00100020"), "00100020 should be zero length");
    // K by default: modality and SOP class stay.
    assert.equal(first(ds, "00080060"), "ES");
    assert.equal(first(ds, "00080016"), "1.2.840.10008.5.1.4.1.1.7");
    assert.equal(first(ds, "00120062"), "YES");
    assert.match(String(first(ds, "00120063")), /Basic Profile/);
    assert.equal(back.meta["00020016"], undefined);
    assert.ok(r.removed.some((l) => l.startsWith("(0010,0010)")));
    assert.ok(r.removed.some((l) => l.startsWith("private group 0009")));
  });

  it("dicom - UIDs remap the same way twice, differently under another site secret, into valid 2.25 UIDs", () => {
    const src = syntheticDicom();
    const a = readDicom(deidentifyDicom(src, { siteSecret: SECRET }).bytes);
    const b = readDicom(deidentifyDicom(src, { siteSecret: SECRET }).bytes);
    const c = readDicom(deidentifyDicom(src, { siteSecret: "another-site-secret-xyz" }).bytes);
    for (const tag of ["0020000D", "0020000E", "00080018", "00200052"]) {
      const ua = String(first(a.dict, tag));
      assert.match(ua, UID_RE);
      assert.ok(ua.length <= 64);
      assert.equal(ua, String(first(b.dict, tag)), `${tag} differs between runs`);
      assert.notEqual(ua, String(first(c.dict, tag)), `${tag} equal under another secret`);
      assert.ok(!Object.values(UIDS).includes(ua));
    }
    assert.equal(first(a.meta, "00020003"), first(a.dict, "00080018"), "file meta follows the SOP Instance UID");
    assert.equal(remapUid(UIDS.study, SECRET), first(a.dict, "0020000D"));
    assert.notEqual(first(a.dict, "0020000D"), first(a.dict, "0020000E"));
  });

  it("dicom - the pipeline de-identifies, renders the pixels and exports a PNG only", async () => {
    const dir = tempDir();
    const file = writeBytes(join(dir, "img.dcm"), syntheticDicom());
    const res = await runExemplarPipeline([{ recordId: "d1", imagePath: file, shareable: true, boxes: [{ bbox: [2, 2, 8, 8], category_id: 1 }], width: 16, height: 16 }], {
      site: "site-a",
      config: privacyConfig(),
      siteSecret: SECRET,
      stateDir: dir,
    });
    assert.deepEqual(res.refused, []);
    const e = res.exported[0];
    assert.equal(e.mime, "image/png");
    for (const p of PHI) assert.ok(!e.bytes.includes(p));
    const stage = e.provenance.stages.find((s) => s.name === "dicom-deid");
    assert.ok(stage?.removed?.some((l) => l.includes("Patient's Name")));
    const { data, info } = await sharp(e.bytes).raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.width, 16);
    // Window from min..max: 0 -> 0 and the brightest source value -> 255.
    assert.equal(data[0], 0);
    assert.ok(Math.max(...data) >= 250);
  });
});

describe("dicom - hostile structure and budgets", () => {
  const REF_PLAN_UID = "1.2.826.0.1.3680043.2.1125.1.66666666666666666666";
  /** A Referenced RT Plan Sequence (300C,0002) written as UN of defined length, its item in implicit VR, as in pydicom's rtdose_rle.dcm. */
  function unSequenceFile(): Buffer {
    const uid = (v: string): Buffer => Buffer.from(v.length % 2 ? `${v}\0` : v, "latin1");
    const itemBody = Buffer.concat([implicitElement(0x0008, 0x1150, uid("1.2.840.10008.5.1.4.1.1.481.5")), implicitElement(0x0008, 0x1155, uid(REF_PLAN_UID))]);
    const itemHead = Buffer.alloc(8);
    itemHead.writeUInt32LE(0xe000fffe, 0);
    itemHead.writeUInt32LE(itemBody.length, 4);
    return withElementsBeforePixels(explicitElement(0x300c, 0x0002, "UN", Buffer.concat([itemHead, itemBody])));
  }

  it("dicom - a UN sequence of defined length is removed whole and listed, and the file de-identifies to a small readable file", () => {
    const src = unSequenceFile();
    assert.ok(src.includes(REF_PLAN_UID));
    const r = deidentifyDicom(src, { siteSecret: SECRET }, "un-seq.dcm");
    // Read in the file's explicit VR, the item became one element hundreds of MB long.
    assert.ok(r.bytes.length < src.length + 4096, `de-identified file is ${r.bytes.length} bytes from ${src.length}`);
    assert.ok(!r.bytes.includes(REF_PLAN_UID), "the referenced plan UID survived");
    assert.ok(r.removed.includes("(300C,0002) UN sequence of defined length: removed"), r.removed.join("; "));
    const ds = readDicom(r.bytes).dict;
    assert.equal(ds["300C0002"], undefined);
    assert.equal(first(ds, "00120062"), "YES");
  });

  it("dicom - a file over its time budget is refused with a DicomBudgetError naming the file and the budget; the next file is served", async () => {
    const bytes = syntheticDicom();
    await assert.rejects(
      runDicomJob({ op: "deidentify", bytes, options: { siteSecret: SECRET }, path: "slow.dcm" }, { timeoutMs: 1, heapMb: 256 }),
      (err: unknown) => err instanceof DicomBudgetError && /^slow\.dcm: refused: decoding took longer than 1 ms \(the per-file time budget\)/.test((err as Error).message),
    );
    const ok = await runDicomJob({ op: "deidentify", bytes, options: { siteSecret: SECRET }, path: "next.dcm" }, { timeoutMs: 20_000, heapMb: 256 });
    assert.equal(ok.op, "deidentify");
  });

  it("dicom - a file whose decode needs more heap than its budget is refused with a DicomBudgetError, and fits a larger budget", async () => {
    // 48 MB of Text Value (UT): decoded, it is a string of that size on the worker's heap.
    const text = Buffer.alloc(48 << 20, "a");
    const bytes = withElementsBeforePixels(explicitElement(0x0040, 0xa160, "UT", text));
    await assert.rejects(
      runDicomJob({ op: "deidentify", bytes, options: { siteSecret: SECRET }, path: "big-text.dcm" }, { timeoutMs: 60_000, heapMb: 32 }),
      (err: unknown) => err instanceof DicomBudgetError && /^big-text\.dcm: refused: decoding needed more than 32 MiB of heap/.test((err as Error).message),
    );
    const ok = await runDicomJob({ op: "deidentify", bytes, options: { siteSecret: SECRET }, path: "big-text.dcm" }, { timeoutMs: 60_000, heapMb: 1024 });
    assert.equal(ok.op, "deidentify");
  });
});

describe("dicom - Debian python3-pydicom sample files", () => {
  const dir = process.env.MEDFCL_PYDICOM_TESTFILES;
  const have = !!dir && existsSync(join(dir, "CT_small.dcm"));
  const skip = skipUnless("the pydicom sample-file tests", have ? false : `MEDFCL_PYDICOM_TESTFILES=${dir ?? "(unset)"} does not hold CT_small.dcm; set it to pydicom's data/test_files (apt-get download python3-pydicom; dpkg -x), as .ci/run does`);

  it("dicom - CT_small.dcm loses its patient name, institution and private tags", { skip }, async () => {
    const src = readFileSync(join(dir!, "CT_small.dcm"));
    assert.ok(src.includes("CompressedSamples^CT1"));
    assert.ok(src.includes("JFK IMAGING CENTER"));
    const r = deidentifyDicom(src, { siteSecret: SECRET }, "CT_small.dcm");
    for (const p of ["CompressedSamples^CT1", "JFK IMAGING CENTER", "1CT1", "GEMS_IDEN_01"]) assert.ok(!r.bytes.includes(p), `${p} survived`);
    const ds = readDicom(r.bytes).dict;
    assert.deepEqual(allTags(ds).filter((t) => parseInt(t.slice(0, 4), 16) % 2 === 1), []);
    assert.match(String(first(ds, "0020000D")), UID_RE);
    const img = await renderDicomFrame(readDicom(r.bytes));
    assert.deepEqual([img.width, img.height], [128, 128]);
  });

  it("dicom - big- and little-endian MR_small render to the same pixels; baseline JPEG renders", { skip }, async () => {
    const le = await renderDicomFrame(readDicom(readFileSync(join(dir!, "MR_small.dcm"))));
    const be = await renderDicomFrame(readDicom(readFileSync(join(dir!, "MR_small_bigendian.dcm"))));
    assert.deepEqual([le.width, le.height], [64, 64]);
    assert.deepEqual(Buffer.from(be.data), Buffer.from(le.data));
    const jpeg = await renderDicomFrame(readDicom(readFileSync(join(dir!, "SC_rgb_dcmtk_+eb+cr.dcm"))));
    assert.ok(jpeg.width > 0 && jpeg.height > 0);
  });

  it("dicom - the pipeline exports CT_small.dcm as a PNG with no DICOM attribute", { skip }, async () => {
    const state = tempDir();
    const res = await runExemplarPipeline([{ recordId: "ct", imagePath: join(dir!, "CT_small.dcm"), shareable: true, boxes: [], width: 128, height: 128 }], {
      site: "site-a",
      config: privacyConfig(),
      siteSecret: SECRET,
      stateDir: state,
    });
    assert.deepEqual(res.refused, []);
    assert.ok(!res.exported[0].bytes.includes("CompressedSamples"));
  });
});
