/**
 * Byte-level preparation of a DICOM object before dcmjs reads it. dcmjs reads only Part 10 files
 * with a complete file meta group, cannot step over private or UN sequences of undefined length
 * in implicit VR (it does not know they are sequences), and writes deflated datasets that no
 * reader can inflate. Archives hold all of these. This pass
 * - accepts a dataset without a Part 10 header (or with a meta group lacking its length or its
 *   transfer syntax), guessing the encoding from the first element, and writes a complete header;
 * - inflates a deflated dataset and re-encodes it as explicit VR little endian;
 * - removes every private element and every UN sequence (of undefined length, or of defined length
 *   holding items), at every level it can parse (the Basic Profile removes private attributes
 *   anyway; a UN sequence cannot be de-identified attribute by attribute, so it goes whole).
 * Everything else is copied byte for byte.
 */
import { inflateRawSync } from "node:zlib";
import { DicomError } from "../errors.js";

export const TS = {
  implicitLE: "1.2.840.10008.1.2",
  explicitLE: "1.2.840.10008.1.2.1",
  deflated: "1.2.840.10008.1.2.1.99",
  explicitBE: "1.2.840.10008.1.2.2",
} as const;

const LONG_VRS = new Set(["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"]);
const VR_RE = /^[A-Z]{2}$/;
const UNDEFINED = 0xffffffff;
const ITEM = 0xfffee000;
const ITEM_END = 0xfffee00d;
const SEQ_END = 0xfffee0dd;
/** Nesting deeper than this is refused: no real object nests sequences that deep, and recursion must end. */
const MAX_DEPTH = 64;

interface Enc {
  explicit: boolean;
  little: boolean;
}

interface Node {
  tag: number;
  vr: string | null;
  /** Defined-length value bytes, or null for undefined length (then `items`). */
  value: Buffer | null;
  items: Item[] | null;
}

interface Item {
  /** A fragment (defined-length item of encapsulated data or of an unparsed sequence). */
  raw: Buffer | null;
  /** A dataset item of undefined length. */
  nodes: Node[] | null;
}

export interface NormalizedDicom {
  bytes: Buffer;
  transferSyntax: string;
  /** What this pass changed, for the de-identification report. */
  changes: string[];
}

const hex4 = (n: number): string => n.toString(16).toUpperCase().padStart(4, "0");
const fmt = (tag: number): string => `(${hex4(tag >>> 16)},${hex4(tag & 0xffff)})`;

class Reader {
  constructor(
    readonly b: Buffer,
    readonly path: string,
  ) {}
  need(pos: number, n: number): void {
    if (pos + n > this.b.length) throw new DicomError(this.path, `is truncated: an element at byte ${pos} runs past the end (${this.b.length} bytes)`);
  }
  u16(pos: number, little: boolean): number {
    this.need(pos, 2);
    return little ? this.b.readUInt16LE(pos) : this.b.readUInt16BE(pos);
  }
  u32(pos: number, little: boolean): number {
    this.need(pos, 4);
    return little ? this.b.readUInt32LE(pos) : this.b.readUInt32BE(pos);
  }
  tag(pos: number, little: boolean): number {
    return ((this.u16(pos, little) << 16) | this.u16(pos + 2, little)) >>> 0;
  }
}

/** Reads elements from `pos` until `end`, or until an item delimiter when `untilItemEnd`. */
function readNodes(r: Reader, pos: number, end: number, enc: Enc, depth: number, untilItemEnd: boolean): { nodes: Node[]; pos: number } {
  if (depth > MAX_DEPTH) throw new DicomError(r.path, `nests sequences deeper than ${MAX_DEPTH} levels`);
  const nodes: Node[] = [];
  while (pos < end) {
    const tag = r.tag(pos, enc.little);
    if (tag === ITEM_END) {
      if (!untilItemEnd) throw new DicomError(r.path, `has an item delimiter at byte ${pos} outside an item`);
      return { nodes, pos: pos + 8 };
    }
    let vr: string | null = null;
    let len: number;
    let p = pos + 4;
    if (enc.explicit && (tag >>> 16) !== 0xfffe) {
      r.need(p, 2);
      vr = r.b.toString("latin1", p, p + 2);
      if (!VR_RE.test(vr)) throw new DicomError(r.path, `element ${fmt(tag)} at byte ${pos} has no valid VR ("${vr}")`);
      if (LONG_VRS.has(vr)) {
        len = r.u32(p + 4, enc.little);
        p += 8;
      } else {
        len = r.u16(p + 2, enc.little);
        p += 4;
      }
    } else {
      len = r.u32(p, enc.little);
      p += 4;
    }
    if (len === UNDEFINED) {
      // PS3.5 6.2.2: the content of a UN element of undefined length is implicit VR little endian.
      const inner = vr === "UN" ? { explicit: false, little: true } : enc;
      const { items, pos: next } = readItems(r, p, end, inner, depth + 1);
      nodes.push({ tag, vr, value: null, items });
      pos = next;
      continue;
    }
    r.need(p, len);
    nodes.push({ tag, vr, value: r.b.subarray(p, p + len), items: null });
    pos = p + len;
  }
  if (untilItemEnd) throw new DicomError(r.path, "is truncated: an item of undefined length has no delimiter");
  return { nodes, pos };
}

function readItems(r: Reader, pos: number, end: number, enc: Enc, depth: number): { items: Item[]; pos: number } {
  const items: Item[] = [];
  while (pos < end) {
    const tag = r.tag(pos, enc.little);
    const len = r.u32(pos + 4, enc.little);
    if (tag === SEQ_END) return { items, pos: pos + 8 };
    if (tag !== ITEM) throw new DicomError(r.path, `expected an item ${fmt(ITEM)} at byte ${pos} inside a sequence, found ${fmt(tag)}`);
    if (len === UNDEFINED) {
      const { nodes, pos: next } = readNodes(r, pos + 8, end, enc, depth + 1, true);
      items.push({ raw: null, nodes });
      pos = next;
    } else {
      r.need(pos + 8, len);
      items.push({ raw: r.b.subarray(pos + 8, pos + 8 + len), nodes: null });
      pos += 8 + len;
    }
  }
  throw new DicomError(r.path, "is truncated: a sequence of undefined length has no delimiter");
}

/**
 * A UN value that starts with an item tag is a sequence whose VR the writer did not know, and its
 * items are implicit VR little endian (PS3.5 6.2.2). dcmjs looks the tag up, finds SQ and parses the
 * items in the file's explicit VR: pydicom's rtdose_rle*.dcm (a UN Referenced RT Plan Sequence) then
 * reads as a 775 MB element and its writer runs out of memory. Removed whole, like the undefined-length case.
 */
function isItemList(value: Buffer): boolean {
  return value.length >= 8 && value.readUInt32LE(0) === 0xe000fffe;
}

function filterNodes(nodes: Node[], changes: Map<string, number>, depth: number): Node[] {
  const out: Node[] = [];
  for (const n of nodes) {
    const group = n.tag >>> 16;
    if (group & 1) {
      const key = `private group ${hex4(group)}`;
      changes.set(key, (changes.get(key) ?? 0) + 1);
      continue;
    }
    if (n.vr === "UN" && n.value === null) {
      changes.set(`${fmt(n.tag)} UN sequence of undefined length`, 1);
      continue;
    }
    if (n.vr === "UN" && isItemList(n.value!)) {
      changes.set(`${fmt(n.tag)} UN sequence of defined length`, 1);
      continue;
    }
    if (n.items) n.items = n.items.map((it) => (it.nodes ? { raw: null, nodes: filterNodes(it.nodes, changes, depth + 1) } : it));
    out.push(n);
  }
  return out;
}

function writeNodes(nodes: Node[], enc: Enc): Buffer {
  const parts: Buffer[] = [];
  const u16 = (v: number): Buffer => {
    const b = Buffer.alloc(2);
    if (enc.little) b.writeUInt16LE(v);
    else b.writeUInt16BE(v);
    return b;
  };
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    if (enc.little) b.writeUInt32LE(v >>> 0);
    else b.writeUInt32BE(v >>> 0);
    return b;
  };
  const tagBytes = (tag: number): Buffer => Buffer.concat([u16(tag >>> 16), u16(tag & 0xffff)]);
  for (const n of nodes) {
    let body: Buffer;
    let len: number;
    if (n.items) {
      const itemParts: Buffer[] = [];
      for (const it of n.items) {
        if (it.nodes) itemParts.push(tagBytes(ITEM), u32(UNDEFINED), writeNodes(it.nodes, enc), tagBytes(ITEM_END), u32(0));
        else itemParts.push(tagBytes(ITEM), u32(it.raw!.length), it.raw!);
      }
      itemParts.push(tagBytes(SEQ_END), u32(0));
      body = Buffer.concat(itemParts);
      len = UNDEFINED;
    } else {
      body = n.value!;
      len = body.length;
    }
    parts.push(tagBytes(n.tag));
    if (enc.explicit && n.vr) {
      parts.push(Buffer.from(n.vr, "latin1"));
      parts.push(LONG_VRS.has(n.vr) ? Buffer.concat([Buffer.alloc(2), u32(len)]) : u16(len));
    } else {
      parts.push(u32(len));
    }
    parts.push(body);
  }
  return Buffer.concat(parts);
}

function isPart10(b: Buffer): boolean {
  return b.length >= 132 && b.toString("latin1", 128, 132) === "DICM";
}

/** The encoding of a dataset without a header, from its first element. */
function guessEncoding(b: Buffer, pos: number, path: string): string {
  if (b.length < pos + 8) throw new DicomError(path, "is too short to be a DICOM dataset");
  const le = b.readUInt16LE(pos);
  const be = b.readUInt16BE(pos);
  const explicit = VR_RE.test(b.toString("latin1", pos + 4, pos + 6));
  if (be < le && explicit) return TS.explicitBE;
  if (le > 0x7fe0 && be > 0x7fe0) throw new DicomError(path, "is neither a Part 10 file nor a dataset that starts with a known group; it is not DICOM");
  return explicit ? TS.explicitLE : TS.implicitLE;
}

function uiValue(nodes: Node[], tag: number): string | undefined {
  const n = nodes.find((x) => x.tag === tag);
  return n?.value ? n.value.toString("latin1").replace(/[\0 ]+$/, "") : undefined;
}

function metaElement(tag: number, vr: string, value: Buffer): Buffer {
  const padded = value.length % 2 ? Buffer.concat([value, Buffer.from(vr === "UI" ? [0] : [0x20])]) : value;
  const head = Buffer.alloc(LONG_VRS.has(vr) ? 12 : 8);
  head.writeUInt16LE(tag >>> 16, 0);
  head.writeUInt16LE(tag & 0xffff, 2);
  head.write(vr, 4, "latin1");
  if (LONG_VRS.has(vr)) head.writeUInt32LE(padded.length, 8);
  else head.writeUInt16LE(padded.length, 6);
  return Buffer.concat([head, padded]);
}

/** See the module comment. Throws DicomError, naming the file, for what it cannot read. */
export function normalizeDicom(input: Uint8Array, path = "<buffer>"): NormalizedDicom {
  const b = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const changes: string[] = [];
  const r = new Reader(b, path);
  let meta: Node[] = [];
  let pos = 0;
  if (isPart10(b)) {
    // The meta group is always explicit VR little endian; its group length may be missing or wrong,
    // so it is read element by element while the group is 0002.
    pos = 132;
    while (pos + 8 <= b.length && b.readUInt16LE(pos) === 0x0002) {
      const { nodes, pos: next } = readNodes(r, pos, pos + 1, { explicit: true, little: true }, 0, false);
      meta.push(...nodes);
      pos = next;
    }
  } else {
    changes.push("file meta: the dataset had no Part 10 header; one was written");
  }
  let ts = uiValue(meta, 0x00020010);
  if (!ts) {
    ts = guessEncoding(b, pos, path);
    if (meta.length) changes.push(`file meta: no transfer syntax; ${ts} read from the dataset`);
  }
  let body = b.subarray(pos);
  let outTs = ts;
  if (ts === TS.deflated) {
    try {
      body = inflateRawSync(body);
    } catch (err) {
      throw new DicomError(path, `deflated dataset cannot be inflated (${(err as Error).message})`, { cause: err });
    }
    outTs = TS.explicitLE;
    changes.push("transfer syntax: deflated explicit VR little endian re-encoded as explicit VR little endian");
  }
  const enc: Enc = { explicit: outTs !== TS.implicitLE, little: outTs !== TS.explicitBE };
  const dr = new Reader(body, path);
  let nodes: Node[];
  try {
    ({ nodes } = readNodes(dr, 0, body.length, enc, 0, false));
  } catch (err) {
    // Say so when the dataset is implicit VR under a transfer syntax that requires explicit VR.
    if (enc.explicit && enc.little) {
      try {
        readNodes(dr, 0, body.length, { explicit: false, little: true }, 0, false);
      } catch {
        throw err;
      }
      throw new DicomError(path, `is encoded in implicit VR although its transfer syntax ${outTs} requires explicit VR; a malformed file is refused rather than guessed at`);
    }
    throw err;
  }
  const removed = new Map<string, number>();
  const kept = filterNodes(nodes, removed, 0);
  for (const [what, n] of removed) changes.push(what.startsWith("private") ? `${what}: ${n} element(s) removed before parsing` : `${what}: removed`);
  const dataset = writeNodes(kept, enc);

  // A complete meta group: the source's own elements, with the transfer syntax and length corrected.
  const sopClass = uiValue(meta, 0x00020002) ?? uiValue(kept, 0x00080016);
  const sopInstance = uiValue(meta, 0x00020003) ?? uiValue(kept, 0x00080018);
  meta = meta.filter((m) => ![0x00020000, 0x00020001, 0x00020002, 0x00020003, 0x00020010].includes(m.tag) && m.value);
  // Objects without SOP UIDs exist (test and legacy data); their meta group simply lacks them.
  const metaBody = Buffer.concat([
    metaElement(0x00020001, "OB", Buffer.from([0, 1])),
    ...(sopClass ? [metaElement(0x00020002, "UI", Buffer.from(sopClass, "latin1"))] : []),
    ...(sopInstance ? [metaElement(0x00020003, "UI", Buffer.from(sopInstance, "latin1"))] : []),
    metaElement(0x00020010, "UI", Buffer.from(outTs, "latin1")),
    ...meta.filter((m) => m.vr).map((m) => metaElement(m.tag, m.vr!, m.value!)),
  ]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(metaBody.length);
  const bytes = Buffer.concat([Buffer.alloc(128), Buffer.from("DICM", "latin1"), metaElement(0x00020000, "UL", groupLength), metaBody, dataset]);
  return { bytes, transferSyntax: outTs, changes };
}
