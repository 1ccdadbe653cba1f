// The whole pydicom test corpus through DICOM de-identification, every output read back by pydicom.
// Needs MEDFCL_PYDICOM_TESTFILES (pydicom's data/test_files; .ci/run unpacks Debian's
// python3-pydicom) and a python3 that imports pydicom (.ci/run installs python3-pydicom; locally
// PYTHONPATH may point at the unpacked package). Skips with a message locally, fails under CI.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runDicomJob } from "../../../services/privacy/index.js";
import { skipUnless } from "../../helpers/ci.js";
import { runCli } from "../../helpers/processes.js";
import { tempDir } from "../../helpers/temp.js";

const dir = process.env.MEDFCL_PYDICOM_TESTFILES;
const haveFiles = !!dir && existsSync(join(dir, "CT_small.dcm"));
// Debian's python3-pydicom serves /usr/bin/python3, which is not the first python3 on PATH when a
// version manager (pyenv) is installed: take the first interpreter that imports pydicom.
const python = [process.env.MEDFCL_PYTHON, "python3", "/usr/bin/python3"].find((p): p is string => !!p && spawnSync(p, ["-c", "import pydicom"], { encoding: "utf8" }).status === 0);
const havePydicom = python !== undefined;
const skip = skipUnless(
  "the DICOM corpus test",
  haveFiles && havePydicom ? false : `it needs MEDFCL_PYDICOM_TESTFILES (${dir ?? "unset"}) and python3 with pydicom (found: ${havePydicom}); set both as .ci/run does`,
);

/** Each file the de-identifier refuses, and why that refusal is right. Any other refusal fails the test. */
const JUSTIFIED_REFUSALS: Record<string, { reason: RegExp; why: string }> = {
  "MR_truncated.dcm": { reason: /is truncated/, why: "pydicom's deliberately truncated MR: its pixel data ends early" },
  "rtplan_truncated.dcm": { reason: /is truncated/, why: "pydicom's deliberately truncated RT plan" },
  "no_meta.dcm": { reason: /is truncated|not DICOM/, why: "begins one byte off its first element: pydicom itself reads it as a single unknown element (0820,0500)" },
  "SC_rgb_jpeg.dcm": { reason: /implicit VR although its transfer syntax 1\.2\.840\.10008\.1\.2\.4\.50 requires explicit VR/, why: "malformed: an implicit VR dataset under JPEG baseline (pydicom warns 'Expected explicit VR, but found implicit VR')" },
  "J2K_pixelrep_mismatch.dcm": { reason: /multiple character sets is not supported/, why: "ISO 2022 IR 87 (Japanese) text cannot be decoded by the reader, so its names cannot be checked or cleaned" },
};

const READBACK = String.raw`
import json, sys, pydicom
PHI = {"PatientName", "PatientID", "PatientBirthDate", "PatientAddress", "OtherPatientIDs", "InstitutionName", "InstitutionAddress",
       "ReferringPhysicianName", "PerformingPhysicianName", "OperatorsName", "AccessionNumber", "StationName", "PhysiciansOfRecord"}
for path in sys.argv[1:]:
    r = {"file": path}
    try:
        ds = pydicom.dcmread(path)
        elems = list(ds.iterall())
        r["elements"] = len(elems)
        r["private"] = [str(e.tag) for e in elems if e.tag.is_private]
        r["phi"] = [e.keyword + "=" + str(e.value) for e in elems if e.keyword in PHI and str(e.value) not in ("", "None", "DEIDENTIFIED")]
        uid = str(ds.get("SOPInstanceUID", ""))
        r["uid_remapped"] = uid == "" or uid.startswith("2.25.")
        r["deidentified"] = str(ds.get("PatientIdentityRemoved", ""))
    except Exception as ex:
        r["error"] = type(ex).__name__ + ": " + str(ex)
    print(json.dumps(r))
`;

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: n }, async () => {
    for (let t = queue.shift(); t !== undefined; t = queue.shift()) await fn(t);
  }));
}

describe("privacy - DICOM de-identification over the pydicom corpus", { skip }, () => {
  it("privacy - every corpus file is de-identified and reads back in pydicom with no PHI, private tag or original UID, or is refused for a stated reason", async () => {
    const out = tempDir("medfcl-dicom-corpus-");
    const files = readdirSync(dir!).filter((f) => f.endsWith(".dcm")).sort();
    const refused = new Map<string, string>();
    const written: string[] = [];
    const started = Date.now();
    await pool(files, 2, async (f) => {
      try {
        const r = await runDicomJob({ op: "deidentify", bytes: readFileSync(join(dir!, f)), options: { siteSecret: "corpus-test-secret-0123456789" }, path: f }, { timeoutMs: 8000, heapMb: 512 });
        assert.equal(r.op, "deidentify");
        if (r.op === "deidentify") writeFileSync(join(out, f), r.bytes);
        written.push(f);
      } catch (err) {
        refused.set(f, (err as Error).message);
      }
    });
    const seconds = (Date.now() - started) / 1000;
    for (const [f, message] of refused) {
      const j = JUSTIFIED_REFUSALS[f];
      assert.ok(j, `${f} was refused without a justification in this test: ${message}`);
      assert.match(message, j.reason, `${f}: refused for another reason than the justified one (${j.why})`);
    }
    assert.ok(written.length >= 60, `only ${written.length} of ${files.length} files were de-identified`);
    // Their Referenced RT Plan Sequence is a UN sequence of defined length, once read as a 775 MB element.
    for (const f of ["rtdose_rle.dcm", "rtdose_rle_1frame.dcm"]) assert.ok(written.includes(f), `${f} was not de-identified: ${refused.get(f)}`);
    const py = spawnSync(python!, ["-c", READBACK, ...written.sort().map((f) => join(out, f))], { encoding: "utf8", maxBuffer: 64 << 20 });
    assert.equal(py.status, 0, py.stderr);
    const results = py.stdout.trim().split("\n").map((l) => JSON.parse(l) as { file: string; error?: string; private: string[]; phi: string[]; uid_remapped: boolean; deidentified: string });
    assert.equal(results.length, written.length);
    for (const r of results) {
      assert.equal(r.error, undefined, `${r.file} is not valid DICOM to pydicom: ${r.error}`);
      assert.deepEqual(r.private, [], `${r.file} kept private tags`);
      assert.deepEqual(r.phi, [], `${r.file} kept PHI`);
      assert.ok(r.uid_remapped, `${r.file} kept its SOP Instance UID`);
      assert.equal(r.deidentified, "YES", `${r.file} lacks Patient Identity Removed = YES`);
    }
    process.stdout.write(`# pydicom corpus: ${files.length} files, ${written.length} de-identified and read back, ${refused.size} refused (${[...refused.keys()].join(", ")}); ${seconds.toFixed(0)} s\n`);
  });

  it("privacy - deid-dicom refuses a file over its time budget with a message and exit 2, and writes a deflated file readably", async () => {
    const secret = join(tempDir("medfcl-dicom-secret-"), "secret");
    writeFileSync(secret, "corpus-test-secret-0123456789");
    const out = tempDir("medfcl-dicom-cli-");
    // No decoder starts, let alone answers, within 1 ms.
    const slow = await runCli(["privacy", "deid-dicom", join(dir!, "CT_small.dcm"), "--out", join(out, "ct.dcm"), "--secret-file", secret, "--timeout-ms", "1"]);
    assert.equal(slow.code, 2, slow.stderr);
    assert.match(slow.stderr, /refused: decoding took longer than 1 ms/);
    assert.equal(existsSync(join(out, "ct.dcm")), false, "nothing is written for a refused file");
    const dfl = await runCli(["privacy", "deid-dicom", join(dir!, "image_dfl.dcm"), "--out", join(out, "dfl.dcm"), "--secret-file", secret]);
    assert.equal(dfl.code, 0, dfl.stderr);
    assert.match(dfl.stdout, /deflated explicit VR little endian re-encoded as explicit VR little endian/);
    const py = spawnSync(python!, ["-c", "import pydicom,sys; ds=pydicom.dcmread(sys.argv[1]); print(ds.file_meta.TransferSyntaxUID, len(list(ds.iterall())))", join(out, "dfl.dcm")], { encoding: "utf8" });
    assert.equal(py.status, 0, py.stderr);
    assert.match(py.stdout, /^1\.2\.840\.10008\.1\.2\.1 \d+/);
  });
});
