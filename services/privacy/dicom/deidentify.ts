/**
 * DICOM de-identification with the PS3.15 Annex E Basic Application Level Confidentiality Profile:
 * the Table E.1-1 actions at every nesting level, every private (odd-group) element removed, and
 * instance UIDs remapped by HMAC with the site secret into the 2.25 UUID-derived root, so the same
 * UID maps to the same new UID at one site (study/series structure survives) and differently at
 * another. dcmjs only reads and writes Part 10; the profile is applied here.
 */
import { createHmac } from "node:crypto";
import dcmjs, { type DicomDataset, type DicomDict, type DicomElement } from "dcmjs";
import { DicomError, PrivacyArgumentError } from "../errors.js";
import { normalizeDicom } from "./normalize.js";
import { formatTag, profileEntryFor, resolveAction, type ProfileAction, type ResolvedAction } from "./profile.js";

dcmjs.log.setLevel("error");

export const DEIDENTIFY_VERSION = "ps3.15-e1-basic/2023;medfcl-1";
export const DEIDENTIFICATION_METHOD = "DICOM PS3.15 E.1 Basic Profile (medfcl 1)";

export interface DeidentifyOptions {
  siteSecret: string;
  /** Per-tag actions that replace the profile's ("00100040": "K" keeps Patient's Sex). */
  overrides?: Record<string, ProfileAction>;
  /** See resolveAction: keep the de-identified object IOD-conformant instead of removing the most. */
  preferConformance?: boolean;
}

export interface DeidentifyResult {
  /** The de-identified Part 10 file. */
  bytes: Buffer;
  dict: DicomDict;
  /** Human-readable list of what changed: "(0010,0010) Patient's Name: Z". */
  removed: string[];
  /** Old UID -> new UID for every remapped UID. */
  uidMap: Map<string, string>;
}

/** HMAC-SHA256(secret, uid) -> 128-bit integer under 2.25 (PS3.5 B.2); at most 44 characters. */
export function remapUid(uid: string, siteSecret: string): string {
  const h = createHmac("sha256", siteSecret).update(`dicom-uid:${uid.trim()}`).digest("hex");
  return `2.25.${BigInt(`0x${h.slice(0, 32)}`).toString(10)}`;
}

const TEXT_DUMMY = "DEIDENTIFIED";

/** A value of the element's VR that carries nothing about the patient. */
function dummyValue(vr: string): unknown[] {
  switch (vr) {
    case "DA":
      return ["19000101"];
    case "TM":
      return ["000000.00"];
    case "DT":
      return ["19000101000000"];
    case "PN":
      return [{ Alphabetic: TEXT_DUMMY }];
    case "AS":
      return ["000Y"];
    case "DS":
    case "IS":
    case "FL":
    case "FD":
    case "SL":
    case "SS":
    case "UL":
    case "US":
    case "SV":
    case "UV":
      return [0];
    case "OB":
    case "OW":
    case "OD":
    case "OF":
    case "OL":
    case "OV":
    case "UN":
      return [new ArrayBuffer(0)];
    case "SQ":
      return [];
    case "UR":
      return [""];
    default:
      return [TEXT_DUMMY];
  }
}

function isPrivateTag(tag: string): boolean {
  return (parseInt(tag.slice(0, 4), 16) & 1) === 1;
}

interface Walk {
  secret: string;
  overrides: Record<string, ProfileAction>;
  preferConformance: boolean;
  removed: string[];
  privateGroups: Map<string, number>;
  uidMap: Map<string, string>;
}

function mapUids(el: DicomElement, w: Walk): DicomElement {
  const Value = (el.Value ?? []).map((v) => {
    if (typeof v !== "string" || v.trim() === "") return v;
    const mapped = remapUid(v, w.secret);
    w.uidMap.set(v.trim(), mapped);
    return mapped;
  });
  return { vr: el.vr, Value };
}

function applyAction(tag: string, el: DicomElement, action: ResolvedAction, w: Walk, path: string): DicomElement | null {
  switch (action) {
    case "X":
      return null;
    case "Z":
      return { vr: el.vr, Value: [] };
    case "D":
    case "C":
      // C (clean) has no generic recipe; a dummy of the VR is the conservative reading of it.
      return el.vr === "UI" ? mapUids(el, w) : { vr: el.vr, Value: dummyValue(el.vr) };
    case "U":
      return el.vr === "SQ" ? { vr: "SQ", Value: walkItems(el, w, path) } : mapUids(el, w);
    case "U*":
      if (el.vr === "SQ") return { vr: "SQ", Value: walkItems(el, w, path) };
      return el.vr === "UI" ? mapUids(el, w) : { vr: el.vr, Value: [] };
    case "K":
      return el.vr === "SQ" ? { vr: "SQ", Value: walkItems(el, w, path) } : el;
    default: {
      const never: never = action;
      throw new PrivacyArgumentError(`unknown de-identification action ${String(never)} for ${formatTag(tag)}`);
    }
  }
}

function walkItems(el: DicomElement, w: Walk, path: string): DicomDataset[] {
  return (el.Value ?? []).map((item, i) => walkDataset(item as DicomDataset, w, `${path}[${i}]`));
}

function walkDataset(ds: DicomDataset, w: Walk, path: string): DicomDataset {
  const out: DicomDataset = {};
  for (const tag of Object.keys(ds)) {
    const el = ds[tag];
    if (isPrivateTag(tag)) {
      const g = tag.slice(0, 4);
      w.privateGroups.set(g, (w.privateGroups.get(g) ?? 0) + 1);
      continue;
    }
    const override = w.overrides[tag];
    const entry = profileEntryFor(tag);
    const code = override ?? entry?.action;
    if (!code) {
      out[tag] = el.vr === "SQ" ? { vr: "SQ", Value: walkItems(el, w, `${path}${formatTag(tag)}`) } : el;
      continue;
    }
    const action = resolveAction(code, w.preferConformance);
    const next = applyAction(tag, el, action, w, `${path}${formatTag(tag)}`);
    if (action !== "K") w.removed.push(`${path}${formatTag(tag)} ${entry?.name ?? "attribute"}: ${action === code ? action : `${code} -> ${action}`}`);
    if (next) out[tag] = next;
  }
  return out;
}

function toArrayBuffer(input: Uint8Array): ArrayBuffer {
  return input.buffer.slice(input.byteOffset, input.byteOffset + input.byteLength) as ArrayBuffer;
}

function readPart10(input: Uint8Array, path: string): DicomDict {
  try {
    return dcmjs.data.DicomMessage.readFile(toArrayBuffer(input), { ignoreErrors: false });
  } catch (err) {
    throw new DicomError(path, `cannot be read as DICOM (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
}

/** Reads a DICOM object, with or without a Part 10 header (normalize.ts prepares what dcmjs cannot read). */
export function readDicom(input: Uint8Array, path = "<buffer>"): DicomDict {
  return readPart10(normalizeDicom(input, path).bytes, path);
}

/** True when the bytes look like a Part 10 file (preamble + "DICM"). */
export function isDicomPart10(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

/**
 * Applies the profile and returns the de-identified dataset without serialising it: the exemplar
 * pipeline only renders pixels from it, so it never pays for dcmjs' writer.
 */
export function deidentifyDataset(input: Uint8Array, opts: DeidentifyOptions, path = "<buffer>"): Omit<DeidentifyResult, "bytes"> {
  if (!opts.siteSecret || opts.siteSecret.length < 16) {
    throw new PrivacyArgumentError("DICOM de-identification needs the site secret (agent.privacy.siteSecret, at least 16 characters) to remap UIDs");
  }
  const norm = normalizeDicom(input, path);
  const src = readPart10(norm.bytes, path);
  const w: Walk = {
    secret: opts.siteSecret,
    overrides: opts.overrides ?? {},
    preferConformance: opts.preferConformance ?? false,
    removed: [...norm.changes],
    privateGroups: new Map(),
    uidMap: new Map(),
  };
  const dict = walkDataset(src.dict, w, "");
  dict["00120062"] = { vr: "CS", Value: ["YES"] };
  dict["00120063"] = { vr: "LO", Value: [DEIDENTIFICATION_METHOD] };
  dict["00120064"] = {
    vr: "SQ",
    Value: [
      {
        "00080100": { vr: "SH", Value: ["113100"] },
        "00080102": { vr: "SH", Value: ["DCM"] },
        "00080104": { vr: "LO", Value: ["Basic Application Confidentiality Profile"] },
      },
    ],
  };

  const meta: DicomDataset = {};
  for (const [tag, el] of Object.entries(src.meta)) {
    // The source AE title names the sending system, often the hospital; the profile does not list
    // the meta group, so medfcl drops it and remaps the instance UID the same way as (0008,0018).
    if (tag === "00020016") {
      w.removed.push(`${formatTag(tag)} Source Application Entity Title: X`);
      continue;
    }
    if (tag === "00020003") {
      meta[tag] = mapUids(el, w);
      w.removed.push(`${formatTag(tag)} Media Storage SOP Instance UID: U`);
      continue;
    }
    meta[tag] = el;
  }
  for (const [g, n] of [...w.privateGroups.entries()].sort()) w.removed.push(`private group ${g}: ${n} element(s) removed`);

  const out = new dcmjs.data.DicomDict(meta);
  out.dict = sortDataset(dict);
  return { dict: out, removed: w.removed, uidMap: w.uidMap };
}

/** De-identifies and writes a Part 10 file. */
export function deidentifyDicom(input: Uint8Array, opts: DeidentifyOptions, path = "<buffer>"): DeidentifyResult {
  const r = deidentifyDataset(input, opts, path);
  let bytes: Buffer;
  try {
    bytes = Buffer.from(r.dict.write());
  } catch (err) {
    throw new DicomError(path, `the de-identified dataset cannot be written (${err instanceof Error ? err.message : String(err)}); a retained attribute holds a value its VR does not allow`, { cause: err });
  }
  return { ...r, bytes };
}

/** Part 10 requires ascending tag order; inserted elements must not land at the end. */
function sortDataset(ds: DicomDataset): DicomDataset {
  const out: DicomDataset = {};
  for (const tag of Object.keys(ds).sort()) out[tag] = ds[tag];
  return out;
}
