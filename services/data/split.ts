/**
 * Deterministic train/test(/val) splits of a converted dataset, and suites assembled from them.
 *
 * An image's id is its file name stem (Kvasir-SEG's `cju0qkwl35piu0993l0dewei2`, BCCD's
 * `BloodImage_00000`). Ids are grouped (a group file maps related ids to one key, e.g. frames of
 * one patient); groups are ordered by SHA-256 of (seed, key) and dealt in that order to test, then
 * val, then train, until each holds its fraction of the images. A group never straddles two splits,
 * and the same inputs give the same bytes.
 */
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { basename, extname, join, relative, resolve } from "node:path";
import { writeFileAtomicSync } from "../store/index.js";
import { ANNOTATIONS_FILE, loadCocoDataset } from "./coco.js";
import { DataArgumentError, DataNotFoundError } from "./errors.js";
import { SUITE_FILE } from "./synth/suite.js";
import { type SuiteDomain, type SuiteIndex } from "./types.js";

export const SPLIT_FILE = "split.json";
export const SPLIT_NAMES = ["train", "val", "test"] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

export interface SplitOptions {
  /** A converted dataset folder (annotations.json + images/). */
  src: string;
  /** Written: out/train, out/test, out/val (when val > 0), out/split.json. */
  out: string;
  /** Fraction of images in test, in (0, 1); not used with `assignment`. */
  test?: number;
  /** Fraction in val, in [0, 1); default 0 (no val split). */
  val?: number;
  seed: number;
  /** id -> group key; ids not in the map are their own group. */
  groups?: Map<string, string>;
  /** Keep only these ids (e.g. Kvasir-Sessile's 195 ids of Kvasir-SEG). */
  include?: Set<string>;
  /** Leave these ids out (e.g. the sessile ids, which form their own domain). */
  exclude?: Set<string>;
  /**
   * Every `test`th id (sorted) is test, and every `val`th of the rest val (assignEveryNth); replaces
   * the test/val fractions and the seed.
   */
  every?: { test: number; val?: number };
  /**
   * The split of each id, decided by the caller (a dataset's own split, or assignEveryNth); replaces
   * test/val/seed/groups. Every id left after include/exclude must have one.
   */
  assignment?: Map<string, SplitName>;
  /**
   * Consent for the train split: true marks every train record `shareable` (it may leave the site
   * as a privacy-filtered replay exemplar), false marks none; undefined keeps each record's flag.
   * Without it, a dataset converted from a public format has no consent and rehearsal exports nothing.
   */
  shareable?: boolean;
}

export interface SplitResult {
  out: string;
  counts: Partial<Record<SplitName, number>>;
  /** Ids of `include` that the dataset does not hold. */
  missingIncluded: string[];
  excluded: number;
  groups: number;
}

type RawRecord = Record<string, unknown>;

export const imageIdOf = (fileName: string): string => basename(fileName, extname(fileName));

/** Reads an id list (one per line; blank lines and # comments ignored). */
export function readIdList(path: string): Set<string> {
  if (!existsSync(path)) throw new DataNotFoundError(path, "id list (one image id per line)");
  const ids = new Set<string>();
  for (const line of readFileSync(path, "utf8").split(/\r?\n/)) {
    const t = line.replace(/#.*/, "").trim();
    if (t !== "") ids.add(imageIdOf(t));
  }
  return ids;
}

/**
 * Reads a group file: one `id group` per line (whitespace, comma or tab between), or a plain id
 * list, which puts all its ids in one group named after the file.
 */
export function readGroupFile(path: string): Map<string, string> {
  if (!existsSync(path)) throw new DataNotFoundError(path, "group file (`id group` per line)");
  const groups = new Map<string, string>();
  for (const [n, line] of readFileSync(path, "utf8").split(/\r?\n/).entries()) {
    const t = line.replace(/#.*/, "").trim();
    if (t === "") continue;
    const parts = t.split(/[\s,]+/);
    if (parts.length > 2) throw new DataArgumentError(`${path}:${n + 1}: expected "id group" or "id", got "${t}"`, { details: { file: path, line: n + 1 } });
    const id = imageIdOf(parts[0]);
    const g = parts[1] ?? `file:${basename(path)}`;
    const prior = groups.get(id);
    if (prior !== undefined && prior !== g) throw new DataArgumentError(`${path}:${n + 1}: id ${id} is in two groups (${prior}, ${g})`, { details: { file: path, line: n + 1 } });
    groups.set(id, g);
  }
  return groups;
}

function checkFraction(name: string, v: number, allowZero: boolean): void {
  if (!Number.isFinite(v) || v < 0 || v >= 1 || (!allowZero && v === 0)) throw new DataArgumentError(`--${name} must be a fraction ${allowZero ? "from 0" : "above 0"} and below 1, got ${v}`);
}

function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

function rankKey(seed: number, key: string): string {
  return createHash("sha256").update(`${seed}\0${key}`).digest("hex");
}

/** Which split each id goes to. Pure: the heart of splitDataset, testable without files. */
export function assignSplits(ids: string[], o: { test: number; val?: number; seed: number; groups?: Map<string, string> }): Map<string, SplitName> {
  const val = o.val ?? 0;
  checkFraction("test", o.test, false);
  checkFraction("val", val, true);
  if (o.test + val >= 1) throw new DataArgumentError(`--test + --val must leave images for train, got ${o.test} + ${val}`);
  const members = new Map<string, string[]>();
  for (const id of ids) {
    const g = o.groups?.get(id) ?? `id:${id}`;
    const list = members.get(g);
    if (list) list.push(id);
    else members.set(g, [id]);
  }
  const order = [...members.keys()].map((g) => ({ g, r: rankKey(o.seed, g) })).sort((a, b) => (a.r < b.r ? -1 : a.r > b.r ? 1 : a.g < b.g ? -1 : 1));
  const want = { test: Math.round(o.test * ids.length), val: Math.round(val * ids.length) };
  const have = { test: 0, val: 0 };
  const out = new Map<string, SplitName>();
  for (const { g } of order) {
    const list = members.get(g)!;
    const split: SplitName = have.test < want.test ? "test" : have.val < want.val ? "val" : "train";
    if (split !== "train") have[split] += list.length;
    for (const id of list) out.set(id, split);
  }
  return out;
}

/**
 * The rule issue 23 uses for Kvasir-SEG: ids sorted (by code point), and every `n`th of them (the
 * n-th, 2n-th, ...) is test. With `valEvery`, every `valEvery`th of the remaining ids (sorted) is
 * val. No seed: the same ids always give the same split (an added id moves only the ids sorted after it).
 */
export function assignEveryNth(ids: Iterable<string>, n: number, valEvery?: number): Map<string, SplitName> {
  if (!Number.isInteger(n) || n < 2) throw new DataArgumentError(`--every must be an integer >= 2, got ${n}`);
  if (valEvery !== undefined && (!Number.isInteger(valEvery) || valEvery < 2)) throw new DataArgumentError(`the val interval must be an integer >= 2, got ${valEvery}`);
  const sorted = [...new Set(ids)].sort();
  const out = new Map<string, SplitName>();
  let rest = 0;
  for (const [i, id] of sorted.entries()) {
    if ((i + 1) % n === 0) out.set(id, "test");
    else out.set(id, valEvery !== undefined && ++rest % valEvery === 0 ? "val" : "train");
  }
  return out;
}

/** Splits `src` into out/train, out/test (and out/val); images are hard-linked (copied across devices). */
export async function splitDataset(o: SplitOptions): Promise<SplitResult> {
  const ds = await loadCocoDataset(o.src);
  const raw = JSON.parse(readFileSync(join(o.src, ANNOTATIONS_FILE), "utf8")) as { images: RawRecord[]; annotations: RawRecord[]; categories: RawRecord[] };
  const byId = new Map<string, number[]>();
  for (const [i, im] of ds.images.entries()) {
    const id = imageIdOf(im.file_name);
    byId.set(id, [...(byId.get(id) ?? []), i]);
  }
  const dup = [...byId].filter(([, v]) => v.length > 1).map(([k]) => k);
  if (dup.length > 0) throw new DataArgumentError(`${o.src}: ${dup.length} image id(s) (file name stems) occur twice, e.g. ${dup.slice(0, 3).join(", ")}; ids must be unique to split by id`);
  const missingIncluded = o.include ? [...o.include].filter((id) => !byId.has(id)).sort() : [];
  const ids = [...byId.keys()].filter((id) => (!o.include || o.include.has(id)) && !o.exclude?.has(id)).sort();
  if (ids.length === 0) throw new DataArgumentError(`${o.src}: no image left after --include/--exclude`);
  const excluded = byId.size - ids.length;
  let assign: Map<string, SplitName>;
  let splits: SplitName[];
  const explicit = o.assignment ?? (o.every ? assignEveryNth(ids, o.every.test, o.every.val) : undefined);
  if (explicit) {
    const unassigned = ids.filter((id) => !explicit.has(id));
    if (unassigned.length > 0) throw new DataArgumentError(`${o.src}: ${unassigned.length} image id(s) have no split in the given assignment, e.g. ${unassigned.slice(0, 3).join(", ")}`);
    assign = explicit;
    splits = SPLIT_NAMES.filter((s) => ids.some((id) => assign.get(id) === s));
    if (!splits.includes("test")) throw new DataArgumentError(`${o.src}: the assignment puts no image in test`);
  } else {
    if (o.test === undefined) throw new DataArgumentError("--test (a fraction) or an explicit assignment is needed to split");
    assign = assignSplits(ids, { ...o, test: o.test });
    splits = (o.val ?? 0) > 0 ? ["train", "val", "test"] : ["train", "test"];
  }

  const out = resolve(o.out);
  if (existsSync(out) && !existsSync(join(out, SPLIT_FILE)) && existsSync(join(out, "train"))) {
    throw new DataArgumentError(`${out} holds a train/ folder that no \`data split\` wrote (no ${SPLIT_FILE}); choose another --out`);
  }
  // A val/ left by an earlier split of ours with --val would otherwise be taken for part of this one.
  if (existsSync(join(out, SPLIT_FILE))) for (const s of SPLIT_NAMES) if (!splits.includes(s)) rmSync(join(out, s), { recursive: true, force: true });
  const counts: Partial<Record<SplitName, number>> = {};
  const rawById = new Map(raw.images.map((im) => [im.id as number, im]));
  const manifest: Record<string, string[]> = {};
  for (const split of splits) {
    const dir = join(out, split);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, "images"), { recursive: true });
    const chosen = ids.filter((id) => assign.get(id) === split);
    const images: RawRecord[] = [];
    const annotations: RawRecord[] = [];
    const idMap = new Map<number, number>();
    for (const id of chosen) {
      const im = ds.images[byId.get(id)![0]];
      const file = `images/${basename(im.file_name)}`;
      linkOrCopy(join(o.src, im.file_name), join(dir, file));
      const newId = images.length + 1;
      const consent = split === "train" && o.shareable !== undefined ? { shareable: o.shareable } : {};
      images.push({ ...rawById.get(im.id), id: newId, file_name: file, ...consent });
      idMap.set(im.id, newId);
    }
    for (const a of raw.annotations) {
      const imageId = idMap.get(a.image_id as number);
      if (imageId !== undefined) annotations.push({ ...a, id: annotations.length + 1, image_id: imageId });
    }
    writeFileAtomicSync(join(dir, ANNOTATIONS_FILE), `${JSON.stringify({ images, annotations, categories: raw.categories }, null, 1)}\n`);
    counts[split] = chosen.length;
    manifest[split] = chosen;
  }
  const groups = new Set(ids.map((id) => o.groups?.get(id) ?? `id:${id}`)).size;
  writeFileAtomicSync(
    join(out, SPLIT_FILE),
    `${JSON.stringify({ ...(o.assignment ? { rule: "assignment" } : o.every ? { rule: "every", every: o.every } : { rule: "hash", seed: o.seed, test: o.test, val: o.val ?? 0 }), groups, excluded, ...(o.shareable === undefined ? {} : { train_shareable: o.shareable }), counts, ids: manifest }, null, 1)}\n`,
  );
  return { out, counts, missingIncluded, excluded, groups };
}

// ---------------------------------------------------------------- suites from split folders

export interface SuiteDomainInput {
  name: string;
  task: string;
  /** A `data split` output (train/ + test/) or a single dataset folder (a test-only domain). */
  dir: string;
  /** Force test-only even when the folder has a train split. */
  testOnly?: boolean;
}

export interface AssembleSuiteOptions {
  /** Where suite.json goes; split paths in it are relative to this folder. */
  out: string;
  name: string;
  seed: number;
  domains: SuiteDomainInput[];
}

function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/**
 * Writes `out`/suite.json over existing split folders (nothing is copied). Refuses a suite in which
 * an image (by id or by content) is in two splits or two domains: an image trained on in one
 * domain and tested in another would inflate every transfer number.
 */
export async function assembleSuite(o: AssembleSuiteOptions): Promise<SuiteIndex> {
  if (o.domains.length === 0) throw new DataArgumentError("a suite needs at least one --domain");
  const out = resolve(o.out);
  const names = new Set<string>();
  const seenId = new Map<string, string>();
  const seenHash = new Map<string, string>();
  const clashes: string[] = [];
  const domains: SuiteDomain[] = [];
  for (const d of o.domains) {
    if (!/^[A-Za-z0-9._-]+$/.test(d.name)) throw new DataArgumentError(`domain name "${d.name}" must be letters, digits, ".", "_" or "-"`);
    if (names.has(d.name)) throw new DataArgumentError(`domain "${d.name}" is given twice`);
    names.add(d.name);
    const dir = resolve(d.dir);
    const isSplit = existsSync(join(dir, "test", ANNOTATIONS_FILE));
    if (!isSplit && !existsSync(join(dir, ANNOTATIONS_FILE))) throw new DataNotFoundError(dir, `domain ${d.name}: a split folder (test/annotations.json) or a dataset folder (annotations.json)`);
    const folders: Partial<Record<SplitName, string>> = {};
    if (isSplit) {
      for (const s of SPLIT_NAMES) if (existsSync(join(dir, s, ANNOTATIONS_FILE)) && !(d.testOnly && s !== "test")) folders[s] = join(dir, s);
    } else folders.test = dir;
    const role = !d.testOnly && folders.train ? "train" : "test-only";
    const counts: Record<string, number> = {};
    let prompt;
    for (const [split, folder] of Object.entries(folders)) {
      const ds = await loadCocoDataset(folder, { checkImages: "header" });
      counts[split] = ds.images.length;
      prompt ??= ds.categories[0]?.prompt;
      for (const im of ds.images) {
        const where = `${d.name}/${split}`;
        const id = imageIdOf(im.file_name);
        const h = sha256File(join(folder, im.file_name));
        const byId = seenId.get(id);
        const byHash = seenHash.get(h);
        if (byId) clashes.push(`${id} is in ${byId} and ${where}`);
        else if (byHash) clashes.push(`${where}/${im.file_name} has the same bytes as an image in ${byHash}`);
        seenId.set(id, where);
        seenHash.set(h, where);
      }
    }
    if (!prompt) throw new DataArgumentError(`domain ${d.name}: ${dir} has no category`);
    domains.push({
      name: d.name,
      task: d.task,
      role,
      prompt,
      splits: {
        ...(folders.train ? { train: relative(out, folders.train) } : {}),
        ...(folders.val ? { val: relative(out, folders.val) } : {}),
        test: relative(out, folders.test!),
      },
      counts,
    });
  }
  if (clashes.length > 0) {
    throw new DataArgumentError(`${clashes.length} image(s) would be in two splits or domains: ${clashes.slice(0, 5).join("; ")}${clashes.length > 5 ? "; ..." : ""}. Split with --exclude/--include or --groups so each image is in one place.`, {
      details: { clashes: clashes.length },
    });
  }
  const index: SuiteIndex = { suite: o.name, seed: o.seed, scale: "real", domains };
  mkdirSync(out, { recursive: true });
  writeFileAtomicSync(join(out, SUITE_FILE), `${JSON.stringify(index, null, 2)}\n`);
  return index;
}
