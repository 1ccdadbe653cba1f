/**
 * The two real-data suites, built from a folder laid out like `../shared/datasets` (its README
 * gives each dataset's layout, licence and quirks):
 *
 * - `polyp`, domain-incremental (the paper's Tables 1 and 3): kvasir (Kvasir-SEG without the
 *   Kvasir-Sessile ids) -> kvasir-sessile -> bkai, and colondb (CVC-ColonDB) test-only. One
 *   category, "polyp", with the paper's prompt in every domain.
 * - `tasks`, task-incremental (Tables 2 and 4): kvasir (polyp) -> fuseg (foot ulcer) -> busi
 *   (breast tumour) -> tbx11k (tuberculosis), the paper's Table 4 sequence as far as it exists here,
 *   then bccd (cells), monuseg (nuclei), ph2 (skin lesion). MIU-VL-style prompts per category.
 *
 * Splits: a dataset's own split where it has one (FUSeg train/validation, TBX11K's train/val lists,
 * MoNuSeg train/test, BCCD ImageSets/Main); otherwise every 5th image by sorted id is test (the rule
 * issue 23 uses for Kvasir-SEG). The same inputs give the same bytes. Exact duplicate images (same
 * bytes) are kept once, so no image is on both sides of a split.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { ANNOTATIONS_FILE, loadCocoDataset } from "./coco.js";
import { compareBoxes, type AgreementReport } from "./compare.js";
import { convertAperio } from "./convert/aperio.js";
import { POLYP_PROMPT, listImages, summarizeIds, type ConvertReport, type PromptMap } from "./convert/common.js";
import { convertKvasir, convertMasks, convertRgbMasks, convertVoc, convertYoloFolder } from "./convert/formats.js";
import { type TileOptions } from "./convert/tiles.js";
import { DataArgumentError, DataNotFoundError } from "./errors.js";
import { assembleSuite, assignEveryNth, imageIdOf, readIdList, splitDataset, type SplitName } from "./split.js";
import { type SuiteIndex } from "./types.js";

export const REAL_SUITES = ["polyp", "tasks"] as const;
export type RealSuiteName = (typeof REAL_SUITES)[number];

/** Which CVC-ColonDB frames the test-only domain holds: 1-300 (the set its authors published results on) or all 380. */
export const COLONDB_FRAMES = ["1-300", "all"] as const;
export type ColonDbFrames = (typeof COLONDB_FRAMES)[number];

/** Test = every 5th image by sorted id, where a dataset has no split of its own. */
export const HOLD_OUT_EVERY = 5;

/**
 * BCCD prompts in the MIU-VL manner (Qin et al., ICLR 2023): the class name replaced by what a
 * grounding model can see: colour, shape and size words, plus where it is.
 */
export const BCCD_PROMPTS: PromptMap = {
  RBC: { prefix: "", name: "pink red round biconcave cell", suffix: " in blood smear" },
  WBC: { prefix: "", name: "large purple cell with dark lobed nucleus", suffix: " in blood smear" },
  Platelets: { prefix: "", name: "small purple irregular fragment", suffix: " in blood smear" },
};

export const BCCD_CLASSES = ["RBC", "WBC", "Platelets"];

/** TBX11K's YOLO class names (its data.yaml) and what an X-ray shows of each. */
export const TBX11K_PROMPTS: PromptMap = {
  "Active Tuberculosis": { prefix: "", name: "white cloudy patchy opacity", suffix: " in lung x-ray" },
  "Obsolete Pulmonary TB": { prefix: "", name: "small bright dense calcified spot", suffix: " in lung x-ray" },
};

/** The prompt of every single-category task, MIU-VL style (colour, shape, where). */
export const TASK_PROMPTS: PromptMap = {
  polyp: POLYP_PROMPT,
  "foot ulcer": { prefix: "", name: "red yellow open wound", suffix: " on foot skin" },
  "breast tumor": { prefix: "", name: "dark oval irregular mass", suffix: " in breast ultrasound" },
  nucleus: { prefix: "", name: "dark purple round small nucleus", suffix: " in pink stained tissue" },
  "skin lesion": { prefix: "", name: "dark brown irregular spot", suffix: " on skin" },
};

/**
 * CVC-ColonDB's frames per video sequence, from the table in its README: [first, last, sequence].
 * Frames of one sequence are near-identical views of one polyp, so a split must keep a sequence
 * whole. Sequences 4 and 8 have fecal content, 12 and 13 poor views (the README).
 */
export const COLONDB_SEQUENCES: [number, number, number][] = [
  [1, 38, 1], [39, 60, 2], [61, 76, 3], [77, 97, 5], [98, 148, 6], [149, 155, 7], [156, 203, 9], [204, 208, 10],
  [209, 263, 11], [264, 273, 14], [274, 300, 15], [301, 320, 4], [321, 340, 8], [341, 360, 12], [361, 380, 13],
];

/** The sequence of a CVC-ColonDB frame (1-380), for `data split --groups` should the set ever be split. */
export function colonDbSequence(frame: number): number {
  const row = COLONDB_SEQUENCES.find(([a, b]) => frame >= a && frame <= b);
  if (!row) throw new DataArgumentError(`CVC-ColonDB has frames 1 to 380, not ${frame}`);
  return row[2];
}

/** The two label sources each `agreement` entry compares (the first against the second). */
export const AGREEMENT_SOURCES: Record<string, string> = {
  kvasir: "Kvasir-SEG's official JSON boxes (scaled to the files) against the boxes from its masks",
  tbx11k: "TBX11K's VOC XML boxes (scaled from <size> to the files) against its YOLO boxes",
};

export interface RealSuiteOptions {
  /** Folder with the datasets (the layout of ../shared/datasets). */
  datasets: string;
  /** Root folder: the suite goes to out/<suite>/, the converted datasets to out/converted/ (shared by both suites). */
  out: string;
  suite: RealSuiteName;
  /**
   * Also hold out a validation split (for choosing epochs without touching test): the dataset's own
   * (BCCD's val list), else every 5th train image by sorted source id. Default false.
   */
  val?: boolean;
  /**
   * Mark the train images shareable (default true): these public research datasets may serve as
   * replay exemplars inside a research federation; false gives a suite from which no exemplar
   * leaves a site (rehearsal then trains like sequential).
   */
  shareable?: boolean;
  /** Default "1-300". */
  colondbFrames?: ColonDbFrames;
  /** MoNuSeg's tiling (default 4x4: 250x250 px tiles). */
  monusegTile?: TileOptions;
  /** One line per step, for a CLI's progress. */
  log?: (line: string) => void;
}

/** One converted dataset, before it is split into domains. */
export interface ConvertedSet {
  name: string;
  report: ConvertReport;
  /** Images left out because another image (`sameAs`, kept) has the same bytes. */
  duplicates: { id: string; sameAs: string }[];
  /** How the split was decided. */
  splitRule: string;
}

export interface RealDomainCounts {
  images: number;
  /** Object boxes (ignore regions not counted) per category name. */
  boxes: Record<string, number>;
  /** Images without any object box. */
  negatives: number;
  /** Ignore regions (iscrowd = 1). */
  crowd: number;
}

export interface RealDomainResult {
  name: string;
  task: string;
  dataset: string;
  role: "train" | "test-only";
  splits: Partial<Record<SplitName, RealDomainCounts>>;
}

export interface RealSuiteResult {
  /** The suite folder (suite.json is here). */
  dir: string;
  index: SuiteIndex;
  datasets: ConvertedSet[];
  domains: RealDomainResult[];
  /** Two label sources of the same images, compared: kvasir (JSON vs masks), tbx11k (YOLO vs VOC XML). */
  agreement: Record<string, AgreementReport>;
  /** Converting its datasets (shared ones counted in full) plus splitting and indexing it. */
  seconds: number;
}

/** What every dataset's conversion and split may read. */
type BuildOptions = Omit<RealSuiteOptions, "suite">;

interface DomainSpec {
  name: string;
  task: string;
  dataset: string;
  include?: Set<string>;
  exclude?: Set<string>;
  testOnly?: boolean;
}

interface Recipe {
  /** Files that must exist (relative to the datasets folder), with what they are. */
  needs: [string, string][];
  convert(src: string, out: string, o: BuildOptions): Promise<ConvertReport>;
  /** The dataset's own split of its source ids, or undefined for every 5th by sorted id. */
  ownSplit?(src: string, o: BuildOptions): { assignment: Map<string, SplitName>; rule: string };
  /** Every image is test (a test-only domain). */
  testOnly?: boolean;
  /** A second label source of the same images, converted for `agreement`. */
  compare?(src: string, out: string): Promise<ConvertReport>;
}

const idsOfList = (path: string, prefix = ""): string[] =>
  readFileSync(path, "utf8")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && l.startsWith(prefix))
    .map((l) => imageIdOf(l));

const RECIPES: Record<string, Recipe> = {
  kvasir: {
    needs: [["kvasir-seg/images", "Kvasir-SEG images"], ["kvasir-seg/masks", "Kvasir-SEG masks"], ["kvasir-seg/kavsir_bboxes.json", "Kvasir-SEG box file"], ["kvasir-seg/sessile-ids.txt", "Kvasir-Sessile id list"]],
    // Boxes from the masks, as issue 23's Kvasir acceptance says; the official JSON is compared against them.
    convert: (src, out) => convertMasks({ images: join(src, "kvasir-seg/images"), masks: join(src, "kvasir-seg/masks"), minArea: 32, category: "polyp", prompts: TASK_PROMPTS, out }),
    compare: (src, out) => convertKvasir({ bboxes: join(src, "kvasir-seg/kavsir_bboxes.json"), images: join(src, "kvasir-seg/images"), minArea: 32, out }),
  },
  bkai: {
    needs: [["bkai-neopolyp/images", "BKAI-IGH images"], ["bkai-neopolyp/masks", "BKAI-IGH RGB masks"]],
    // One "polyp" class: domain-incremental learning keeps the label space, as the paper does.
    convert: (src, out) =>
      convertRgbMasks({
        images: join(src, "bkai-neopolyp/images"),
        masks: join(src, "bkai-neopolyp/masks"),
        minArea: 32,
        classes: [{ color: [255, 0, 0], name: "polyp" }, { color: [0, 255, 0], name: "polyp" }],
        prompts: TASK_PROMPTS,
        out,
      }),
  },
  colondb: {
    needs: [["cvc-colondb/images", "CVC-ColonDB images"], ["cvc-colondb/masks", "CVC-ColonDB masks"]],
    convert: (src, out) => convertMasks({ images: join(src, "cvc-colondb/images"), masks: join(src, "cvc-colondb/masks"), minArea: 32, category: "polyp", prompts: TASK_PROMPTS, out }),
    testOnly: true,
  },
  fuseg: {
    needs: [["fuseg/train/images", "FUSeg train images"], ["fuseg/validation/images", "FUSeg validation images"]],
    convert: (src, out) =>
      convertMasks({
        images: [join(src, "fuseg/train/images"), join(src, "fuseg/validation/images")],
        masks: [join(src, "fuseg/train/labels"), join(src, "fuseg/validation/labels")],
        minArea: 32,
        category: "foot ulcer",
        prompts: TASK_PROMPTS,
        out,
      }),
    // The challenge's test labels are not published: its validation set is the test set here.
    ownSplit: (src) => ({
      assignment: new Map([...[...listImages(join(src, "fuseg/train/images")).keys()].map((id) => [id, "train"] as const), ...[...listImages(join(src, "fuseg/validation/images")).keys()].map((id) => [id, "test"] as const)]),
      rule: "own split: train/ is train, validation/ is test",
    }),
  },
  busi: {
    needs: [["busi/benign/images", "BUSI benign images"], ["busi/malignant/images", "BUSI malignant images"], ["busi/normal/images", "BUSI normal images"]],
    convert: (src, out) =>
      convertMasks({
        images: ["benign", "malignant", "normal"].map((c) => join(src, "busi", c, "images")),
        masks: ["benign", "malignant", "normal"].map((c) => join(src, "busi", c, "mask")),
        minArea: 32,
        category: "breast tumor",
        objects: "mask",
        prompts: TASK_PROMPTS,
        out,
      }),
  },
  tbx11k: {
    needs: [["tbx11k/tbx11k-small-balanced/data.yaml", "TBX11K Ultralytics folder"], ["tbx11k/annotations/xml", "TBX11K VOC XML"], ["tbx11k/lists/TBX11K_train.txt", "TBX11K train list"]],
    convert: (src, out) => convertYoloFolder(join(src, "tbx11k/tbx11k-small-balanced"), { prompts: TBX11K_PROMPTS, dropEmptyCategories: true, out }),
    ownSplit: (src) => ({
      assignment: new Map([...idsOfList(join(src, "tbx11k/lists/TBX11K_train.txt"), "tb/").map((id) => [id, "train"] as const), ...idsOfList(join(src, "tbx11k/lists/TBX11K_val.txt"), "tb/").map((id) => [id, "test"] as const)]),
      rule: "own split: the tb/ entries of lists/TBX11K_train.txt are train, of TBX11K_val.txt test",
    }),
    compare: (src, out) =>
      convertVoc({
        annotations: join(src, "tbx11k/annotations/xml"),
        images: [join(src, "tbx11k/tbx11k-small-balanced/images/train"), join(src, "tbx11k/tbx11k-small-balanced/images/val")],
        out,
      }),
  },
  bccd: {
    needs: [["bccd/Annotations", "BCCD VOC annotations"], ["bccd/ImageSets/Main/trainval.txt", "BCCD split lists"]],
    convert: (src, out) => convertVoc({ annotations: join(src, "bccd/Annotations"), images: join(src, "bccd/JPEGImages"), classes: BCCD_CLASSES, difficult: "crowd", prompts: BCCD_PROMPTS, out }),
    ownSplit: (src, o) => {
      const list = (f: string): string[] => idsOfList(join(src, "bccd/ImageSets/Main", f));
      const parts: [string, SplitName][] = o.val ? [["train.txt", "train"], ["val.txt", "val"], ["test.txt", "test"]] : [["trainval.txt", "train"], ["test.txt", "test"]];
      return { assignment: new Map(parts.flatMap(([f, s]) => list(f).map((id) => [id, s] as const))), rule: `own split: ImageSets/Main ${parts.map(([f, s]) => `${f} is ${s}`).join(", ")}` };
    },
  },
  monuseg: {
    needs: [["monuseg/MoNuSegTrainingData/Tissue_Images", "MoNuSeg train images"], ["monuseg/MoNuSegTrainingData/Annotations", "MoNuSeg train XML"], ["monuseg/MoNuSegTestData", "MoNuSeg test images and XML"]],
    convert: (src, out, o) =>
      convertAperio({
        images: [join(src, "monuseg/MoNuSegTrainingData/Tissue_Images"), join(src, "monuseg/MoNuSegTestData")],
        annotations: [join(src, "monuseg/MoNuSegTrainingData/Annotations"), join(src, "monuseg/MoNuSegTestData")],
        category: "nucleus",
        tile: o.monusegTile ?? { rows: 4, cols: 4 },
        prompts: TASK_PROMPTS,
        out,
      }),
    ownSplit: (src) => ({
      assignment: new Map([...[...listImages(join(src, "monuseg/MoNuSegTrainingData/Tissue_Images")).keys()].map((id) => [id, "train"] as const), ...[...listImages(join(src, "monuseg/MoNuSegTestData")).keys()].map((id) => [id, "test"] as const)]),
      rule: "own split: MoNuSegTrainingData is train, MoNuSegTestData test (tiles follow their image)",
    }),
  },
  ph2: {
    needs: [["ph2/PH2 Dataset images", "PH2 image folders"]],
    convert: (src, out) => convertMasks({ images: join(src, "ph2/PH2 Dataset images"), masks: join(src, "ph2/PH2 Dataset images"), recursive: true, maskSuffix: "_lesion", minArea: 32, category: "skin lesion", prompts: TASK_PROMPTS, out }),
  },
};

function suiteDomains(suite: RealSuiteName, src: string, o: BuildOptions): DomainSpec[] {
  if (suite === "polyp") {
    const sessile = readIdList(join(src, "kvasir-seg/sessile-ids.txt"));
    const frames = (o.colondbFrames ?? "1-300") === "all" ? 380 : 300;
    return [
      { name: "kvasir", task: "polyp", dataset: "kvasir", exclude: sessile },
      { name: "kvasir-sessile", task: "polyp", dataset: "kvasir", include: sessile },
      { name: "bkai", task: "polyp", dataset: "bkai" },
      { name: "colondb", task: "polyp", dataset: "colondb", include: new Set(Array.from({ length: frames }, (_, i) => String(i + 1))), testOnly: true },
    ];
  }
  return [
    { name: "kvasir", task: "polyp", dataset: "kvasir" },
    { name: "fuseg", task: "foot-ulcer", dataset: "fuseg" },
    { name: "busi", task: "breast-tumor", dataset: "busi" },
    { name: "tbx11k", task: "tuberculosis", dataset: "tbx11k" },
    { name: "bccd", task: "cells", dataset: "bccd" },
    { name: "monuseg", task: "nuclei", dataset: "monuseg" },
    { name: "ph2", task: "skin-lesion", dataset: "ph2" },
  ];
}

type RawImage = { id: number; file_name: string; source_image?: string };

const SPLIT_RANK: Record<SplitName, number> = { test: 0, val: 1, train: 2 };

/** Numeric ids (CVC-ColonDB's frames) by number, others by code point: the lower one is the copy kept. */
function idOrder(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The split of every converted image: by its source image (tiles follow their image), from the
 * dataset's own split or every 5th sorted source id; exact duplicates kept once (the copy in the
 * earliest of test, val, train, then the lowest id), so no image is on both sides. Duplicates
 * are found before the every-5th rule runs, so the rule counts each image once.
 */
function assignImages(dir: string, recipe: Recipe, src: string, o: BuildOptions): { assignment: Map<string, SplitName>; duplicates: ConvertedSet["duplicates"]; rule: string } {
  const raw = JSON.parse(readFileSync(join(dir, ANNOTATIONS_FILE), "utf8")) as { images: RawImage[] };
  const sourceOf = new Map(raw.images.map((im) => [imageIdOf(im.file_name), im.source_image ?? imageIdOf(im.file_name)]));
  const own = recipe.ownSplit?.(src, o);
  const rankOf = (id: string): number => (own ? SPLIT_RANK[own.assignment.get(sourceOf.get(id)!) ?? "train"] : 0);
  const byHash = new Map<string, string[]>();
  for (const im of raw.images) {
    const h = createHash("sha256").update(readFileSync(join(dir, im.file_name))).digest("hex");
    byHash.set(h, [...(byHash.get(h) ?? []), imageIdOf(im.file_name)]);
  }
  const dropped = new Set<string>();
  const duplicates: ConvertedSet["duplicates"] = [];
  for (const ids of byHash.values()) {
    if (ids.length < 2) continue;
    const [keep, ...rest] = [...ids].sort((a, b) => rankOf(a) - rankOf(b) || idOrder(a, b));
    for (const id of rest) {
      dropped.add(id);
      duplicates.push({ id, sameAs: keep });
    }
  }
  const kept = [...sourceOf.keys()].filter((id) => !dropped.has(id));
  const sources = [...new Set(kept.map((id) => sourceOf.get(id)!))];
  let bySource: Map<string, SplitName>;
  let rule: string;
  if (recipe.testOnly) {
    bySource = new Map(sources.map((s) => [s, "test"]));
    rule = "test-only: every image is test";
  } else if (own) {
    const missing = sources.filter((s) => !own.assignment.has(s));
    if (missing.length > 0) throw new DataArgumentError(`${dir}: ${summarizeIds(missing)} are in none of the dataset's own split lists`);
    bySource = new Map(sources.map((s) => [s, own.assignment.get(s)!]));
    rule = own.rule;
    const hasVal = [...bySource.values()].includes("val");
    if (o.val && !hasVal) {
      const val = assignEveryNth(sources.filter((s) => bySource.get(s) === "train"), HOLD_OUT_EVERY);
      for (const [s, split] of val) if (split === "test") bySource.set(s, "val");
      rule += `; val: every ${HOLD_OUT_EVERY}th train image by sorted id`;
    }
  } else {
    bySource = assignEveryNth(sources, HOLD_OUT_EVERY, o.val ? HOLD_OUT_EVERY : undefined);
    rule = `every ${HOLD_OUT_EVERY}th image by sorted id is test${o.val ? `; every ${HOLD_OUT_EVERY}th of the rest is val` : ""}`;
  }
  const assignment = new Map(kept.map((id) => [id, bySource.get(sourceOf.get(id)!)!]));
  return { assignment, duplicates: duplicates.sort((a, b) => idOrder(a.id, b.id)), rule };
}

async function domainCounts(dir: string): Promise<RealDomainCounts> {
  const ds = await loadCocoDataset(dir, { checkImages: "none" });
  const names = new Map(ds.categories.map((c) => [c.id, c.name]));
  const boxes: Record<string, number> = Object.fromEntries(ds.categories.map((c) => [c.name, 0]));
  let crowd = 0;
  for (const a of ds.annotations) {
    if (a.iscrowd) crowd++;
    else boxes[names.get(a.category_id)!] += 1;
  }
  const negatives = ds.images.filter((im) => !(ds.annotationsByImage.get(im.id) ?? []).some((a) => !a.iscrowd)).length;
  return { images: ds.images.length, boxes, negatives, crowd };
}

export interface RealSuitesOptions extends Omit<RealSuiteOptions, "suite"> {
  suites: RealSuiteName[];
}

/**
 * Builds real suites (see the file comment), converting each dataset once even when both suites
 * use it. Converted datasets go to out/converted/, each suite to out/<suite>/.
 */
export async function buildRealSuites(o: RealSuitesOptions): Promise<RealSuiteResult[]> {
  const started = Date.now();
  if (o.suites.length === 0) throw new DataArgumentError("name at least one suite");
  for (const suite of o.suites) if (!(REAL_SUITES as readonly string[]).includes(suite)) throw new DataArgumentError(`--suite must be one of ${REAL_SUITES.join(", ")}; got "${suite}"`);
  if (o.colondbFrames !== undefined && !(COLONDB_FRAMES as readonly string[]).includes(o.colondbFrames)) throw new DataArgumentError(`--colondb-frames must be one of ${COLONDB_FRAMES.join(", ")}; got "${o.colondbFrames}"`);
  const src = resolve(o.datasets);
  const log = o.log ?? ((): void => undefined);
  const specsOf = new Map(o.suites.map((suite) => [suite, suiteDomains(suite, src, o)]));
  const names = [...new Set([...specsOf.values()].flat().map((d) => d.dataset))];
  for (const name of names) {
    for (const [p, what] of RECIPES[name].needs) {
      if (!existsSync(join(src, p))) throw new DataNotFoundError(join(src, p), `${what} (expected the layout of ../shared/datasets; its README.md describes it)`);
    }
  }
  const root = resolve(o.out);
  const converted = new Map<string, { set: ConvertedSet; assignment: Map<string, SplitName>; agreement?: AgreementReport; seconds: number }>();
  for (const name of names) {
    const t0 = Date.now();
    const recipe = RECIPES[name];
    const dir = join(root, "converted", name);
    // A fresh folder: a suite's split folders hold hard links to the old files, which stay as they were.
    rmSync(dir, { recursive: true, force: true });
    const report = await recipe.convert(src, dir, o);
    let agreement: AgreementReport | undefined;
    if (recipe.compare) {
      const other = join(root, "converted", `${name}-compare`);
      rmSync(other, { recursive: true, force: true });
      await recipe.compare(src, other);
      agreement = compareBoxes(await loadCocoDataset(other, { checkImages: "none" }), await loadCocoDataset(dir, { checkImages: "none" }));
    }
    const { assignment, duplicates, rule } = assignImages(dir, recipe, src, o);
    const seconds = (Date.now() - t0) / 1000;
    converted.set(name, { set: { name, report, duplicates, splitRule: rule }, assignment, agreement, seconds });
    log(`${name}: converted ${report.images} images in ${seconds.toFixed(1)} s`);
  }
  const shareable = o.shareable ?? true;
  const results: RealSuiteResult[] = [];
  for (const [suite, specs] of specsOf) {
    const t0 = Date.now();
    const suiteDir = join(root, suite);
    const domains: RealDomainResult[] = [];
    for (const d of specs) {
      const c = converted.get(d.dataset)!;
      const exclude = new Set([...(d.exclude ?? []), ...c.set.duplicates.map((x) => x.id)]);
      const split = await splitDataset({ src: join(root, "converted", d.dataset), out: join(suiteDir, d.name), seed: 0, assignment: c.assignment, include: d.include, exclude, shareable });
      const splits: Partial<Record<SplitName, RealDomainCounts>> = {};
      for (const s of Object.keys(split.counts) as SplitName[]) splits[s] = await domainCounts(join(suiteDir, d.name, s));
      domains.push({ name: d.name, task: d.task, dataset: d.dataset, role: d.testOnly ? "test-only" : "train", splits });
    }
    const index = await assembleSuite({ out: suiteDir, name: suite, seed: 0, domains: specs.map((d) => ({ name: d.name, task: d.task, dir: join(suiteDir, d.name), testOnly: d.testOnly })) });
    const used = [...new Set(specs.map((d) => d.dataset))];
    const agreement = Object.fromEntries(used.flatMap((n) => (converted.get(n)!.agreement ? [[n, converted.get(n)!.agreement!]] : [])));
    const convertSeconds = used.reduce((sum, n) => sum + converted.get(n)!.seconds, 0);
    results.push({ dir: suiteDir, index, datasets: used.map((n) => converted.get(n)!.set), domains, agreement, seconds: convertSeconds + (Date.now() - t0) / 1000 });
    log(`${suite}: wrote ${join(suiteDir, "suite.json")}`);
  }
  log(`built ${o.suites.join(" and ")} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return results;
}

/** One suite: buildRealSuites for a single name. */
export async function buildRealSuite(o: RealSuiteOptions): Promise<RealSuiteResult> {
  const { suite, ...rest } = o;
  return (await buildRealSuites({ ...rest, suites: [suite] }))[0];
}

/** The per-domain table a suite build prints (and docs/data.md keeps): images and boxes per split. */
export function formatRealSuite(r: RealSuiteResult): string {
  const cell = (c: RealDomainCounts | undefined): string => (c ? `${c.images}` : "-");
  const lines = [`| domain | task | role | train | val | test | boxes (train / test) | negatives (train / test) | ignore regions |`, `|---|---|---|---:|---:|---:|---|---:|---:|`];
  for (const d of r.domains) {
    const tr = d.splits.train;
    const te = d.splits.test;
    const boxes = Object.keys({ ...tr?.boxes, ...te?.boxes })
      .map((k) => `${k} ${tr?.boxes[k] ?? 0} / ${te?.boxes[k] ?? 0}`)
      .join("; ");
    const crowd = (tr?.crowd ?? 0) + (d.splits.val?.crowd ?? 0) + (te?.crowd ?? 0);
    lines.push(`| ${d.name} | ${d.task} | ${d.role} | ${cell(tr)} | ${cell(d.splits.val)} | ${cell(te)} | ${boxes} | ${tr?.negatives ?? 0} / ${te?.negatives ?? 0} | ${crowd} |`);
  }
  return lines.join("\n");
}
