import { type Command } from "commander";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  AGREEMENT_SOURCES,
  DataArgumentError,
  SUITE_FILE,
  SYNTH_GENERATOR_VERSION,
  SYNTH_GENERATOR_VERSIONS,
  parseGeneratorVersion,
  assembleSuite,
  COLONDB_FRAMES,
  MASK_OBJECTS,
  REAL_SUITES,
  buildRealSuites,
  compareBoxes,
  convertAperio,
  convertDicom,
  convertKvasir,
  convertMasks,
  convertRgbMasks,
  convertVoc,
  convertYolo,
  convertYoloFolder,
  domainDistances,
  formatAgreement,
  formatDistanceReport,
  formatProblem,
  formatRealSuite,
  loadCocoDataset,
  parseColorClasses,
  parseTileSpec,
  conspicuityMarkdown,
  profileDataset,
  profilePanels,
  profilesMarkdown,
  type DomainProfile,
  readClassNames,
  readYoloLayout,
  renderContactSheet,
  type ColonDbFrames,
  type ConvertReport,
  type DicomPair,
  type MaskObjects,
  type PromptMap,
  readGroupFile,
  readIdList,
  readSuiteIndex,
  splitDataset,
  summarizeIds,
  synthesizeSuite,
  validateDataset,
  type RealSuiteName,
  type SuiteName,
  type SuiteScale,
  type ValidationProblem,
  VOC_DIFFICULT,
  type VocDifficult,
} from "../../services/data/index.js";
import { scatterPanelsSvg } from "../../services/eval/index.js";
import { writeFileAtomic } from "../../services/store/index.js";
import { action, commaList, ExitCode, numberOption, withExamples } from "../context.js";

function parseSeed(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new DataArgumentError(`--seed must be a non-negative integer, got "${v}"`);
  return n;
}

/** Folders to validate: a dataset folder itself, or every split of a suite folder. */
function datasetFolders(dir: string): string[] {
  if (existsSync(join(dir, SUITE_FILE))) {
    const index = readSuiteIndex(dir);
    return index.domains.flatMap((d) => [d.splits.train, d.splits.test].filter((s): s is string => s !== undefined).map((s) => join(dir, s)));
  }
  return [dir];
}

interface ConvertFlags {
  from: string;
  out: string;
  images?: string;
  masks?: string;
  annotations?: string;
  labels?: string;
  bboxes?: string;
  classes?: string;
  minArea: string;
  categoryName: string;
  maskSuffix?: string;
  maskPrefix?: string;
  recursive?: boolean;
  objects: string;
  tile?: string;
  tileMinVisible?: string;
  dropEmptyCategories?: boolean;
  threshold: string;
  promptPrefix?: string;
  promptName?: string;
  promptSuffix?: string;
  prompts?: string;
  pair?: string;
  window?: string;
  difficult: string;
}

const FORMATS = ["kvasir", "masks", "rgb-masks", "voc", "yolo", "aperio", "dicom"] as const;

/** The first of `candidates` (relative to root) that exists, else the first one. */
function pick(root: string, explicit: string | undefined, candidates: string[]): string {
  if (explicit) return explicit;
  for (const c of candidates) if (existsSync(join(root, c))) return join(root, c);
  return join(root, candidates[0]);
}

function promptMap(f: ConvertFlags, single: string[]): PromptMap {
  let map: PromptMap = {};
  if (f.prompts) {
    try {
      map = JSON.parse(readFileSync(f.prompts, "utf8")) as PromptMap;
    } catch (err) {
      throw new DataArgumentError(`--prompts ${f.prompts}: not a readable JSON object of category -> {prefix, name, suffix}`, { cause: err });
    }
  }
  const parts = { prefix: f.promptPrefix, name: f.promptName, suffix: f.promptSuffix };
  if (Object.values(parts).some((v) => v !== undefined)) {
    // --prompt-* flags set the prompt of every category the converter knows up front.
    for (const c of single) map[c] = { ...map[c], ...Object.fromEntries(Object.entries(parts).filter(([, v]) => v !== undefined)) };
  }
  return map;
}

function classList(root: string, f: ConvertFlags): string[] | undefined {
  if (f.classes !== undefined) return existsSync(f.classes) ? readClassNames(f.classes) : commaList(f.classes);
  for (const c of ["classes.txt", "obj.names"]) if (existsSync(join(root, c))) return readClassNames(join(root, c));
  return undefined;
}

function minArea(f: ConvertFlags): number {
  const v = Number(f.minArea);
  if (!Number.isFinite(v) || v < 1) throw new DataArgumentError(`--min-area must be a number >= 1, got "${f.minArea}"`);
  return v;
}

function maskObjects(f: ConvertFlags): MaskObjects {
  if (!(MASK_OBJECTS as readonly string[]).includes(f.objects)) throw new DataArgumentError(`--objects must be one of ${MASK_OBJECTS.join(", ")}; got "${f.objects}"`);
  return f.objects as MaskObjects;
}

/** Options every converter takes: out, prompts, tiling, empty categories. */
function commonOptions(f: ConvertFlags, categories: string[]): { out: string; prompts: PromptMap; tile?: ReturnType<typeof parseTileSpec>; dropEmptyCategories?: boolean } {
  const minVisible = f.tileMinVisible === undefined ? undefined : Number(f.tileMinVisible);
  if (f.tileMinVisible !== undefined && f.tile === undefined) throw new DataArgumentError("--tile-min-visible needs --tile");
  return {
    out: f.out,
    prompts: promptMap(f, categories),
    ...(f.tile ? { tile: parseTileSpec(f.tile, minVisible) } : {}),
    ...(f.dropEmptyCategories ? { dropEmptyCategories: true } : {}),
  };
}

async function runConvert(input: string, f: ConvertFlags): Promise<ConvertReport> {
  const threshold = Number(f.threshold);
  if (!Number.isFinite(threshold)) throw new DataArgumentError(`--threshold must be a number, got "${f.threshold}"`);
  switch (f.from) {
    case "kvasir":
      return convertKvasir({ bboxes: pick(input, f.bboxes, ["kavsir_bboxes.json", "kvasir_bboxes.json", "bboxes.json"]), images: pick(input, f.images, ["images", "."]), minArea: minArea(f), ...commonOptions(f, ["polyp"]) });
    case "masks":
      return convertMasks({
        images: pick(input, f.images, ["images", "Original", "original", "."]),
        masks: pick(input, f.masks, ["masks", "Ground Truth", "GroundTruth", "ground_truth", "labels"]),
        minArea: minArea(f),
        category: f.categoryName,
        threshold,
        maskSuffix: f.maskSuffix,
        maskPrefix: f.maskPrefix,
        recursive: f.recursive,
        objects: maskObjects(f),
        ...commonOptions(f, [f.categoryName]),
      });
    case "rgb-masks": {
      const classes = f.classes ? parseColorClasses(f.classes) : undefined;
      return convertRgbMasks({ images: pick(input, f.images, ["train", "images", "."]), masks: pick(input, f.masks, ["train_gt", "masks"]), minArea: minArea(f), classes, maskSuffix: f.maskSuffix, ...commonOptions(f, (classes ?? []).map((c) => c.name)) });
    }
    case "voc": {
      const classes = classList(input, f);
      if (!(VOC_DIFFICULT as readonly string[]).includes(f.difficult)) throw new DataArgumentError(`--difficult must be one of ${VOC_DIFFICULT.join(", ")}; got "${f.difficult}"`);
      return convertVoc({ annotations: pick(input, f.annotations, ["Annotations", "annotations"]), images: pick(input, f.images, ["JPEGImages", "images"]), classes, difficult: f.difficult as VocDifficult, ...commonOptions(f, classes ?? []) });
    }
    case "yolo": {
      const classes = classList(input, f);
      // Explicit folders: one images/labels pair; otherwise the folder's own layout (data.yaml, or images/ + labels/).
      if (f.images || f.labels) {
        if (!classes) throw new DataArgumentError("--from yolo needs --classes a,b,c (or a classes.txt / obj.names in the input folder)");
        return convertYolo({ images: pick(input, f.images, ["images", "."]), labels: pick(input, f.labels, ["labels", "."]), classes, ...commonOptions(f, classes) });
      }
      const known = classes ?? readYoloLayout(input).classes ?? [];
      return convertYoloFolder(input, { ...(f.classes !== undefined && classes ? { classes } : {}), ...commonOptions(f, known) });
    }
    case "aperio":
      return convertAperio({ images: pick(input, f.images, ["Tissue_Images", "images", "."]), annotations: pick(input, f.annotations, ["Annotations", "annotations", "."]), category: f.categoryName, ...commonOptions(f, [f.categoryName]) });
    case "dicom": {
      let window;
      if (f.window) {
        const [c, w] = f.window.split(",").map(Number);
        if (!Number.isFinite(c) || !Number.isFinite(w) || w < 1) throw new DataArgumentError(`--window must be CENTER,WIDTH (e.g. 40,400), got "${f.window}"`);
        window = { center: c, width: w };
      }
      const prompts = promptMap(f, [f.categoryName]);
      const pairFormat = f.pair ?? "masks";
      let pair: DicomPair;
      if (pairFormat === "masks") pair = { format: "masks", masks: pick(input, f.masks, ["masks"]), minArea: minArea(f), category: f.categoryName, threshold, maskSuffix: f.maskSuffix, prompts };
      else if (pairFormat === "rgb-masks") pair = { format: "rgb-masks", masks: pick(input, f.masks, ["masks"]), minArea: minArea(f), classes: f.classes ? parseColorClasses(f.classes) : undefined, prompts };
      else if (pairFormat === "voc") pair = { format: "voc", annotations: pick(input, f.annotations, ["Annotations"]), classes: classList(input, f), prompts };
      else if (pairFormat === "yolo") pair = { format: "yolo", labels: pick(input, f.labels, ["labels"]), classes: classList(input, f) ?? [], prompts };
      else if (pairFormat === "kvasir") pair = { format: "kvasir", bboxes: pick(input, f.bboxes, ["kavsir_bboxes.json"]), prompts };
      else throw new DataArgumentError(`--pair must be one of masks, rgb-masks, voc, yolo, kvasir; got "${pairFormat}"`);
      return convertDicom({ dicom: pick(input, f.images, ["dicom", "."]), out: f.out, window, pair });
    }
    default:
      throw new DataArgumentError(`--from must be one of ${FORMATS.join(", ")}; got "${f.from}"`);
  }
}

/** What a conversion wrote and left out: counts first, then notes, then each skipped input. */
function formatConvertReport(r: ConvertReport, indent = ""): string {
  const lines = [
    `wrote ${r.out}: ${r.images} images, ${r.annotations} boxes${r.crowd > 0 ? ` (${r.crowd} of them ignore regions, iscrowd = 1)` : ""}, ${r.negatives} negatives (images without objects)`,
    `boxes per category: ${Object.entries(r.perCategory).map(([k, v]) => `${k} ${v}`).join(", ")}`,
    ...r.notes.map((n) => `note: ${n}`),
    ...r.skipped.map((s) => `skipped: ${s}`),
  ];
  return lines.map((l) => `${indent}${l}`).join("\n");
}

export function registerData(program: Command): void {
  const data = program.command("data").description("synthesize, convert, validate and preview COCO + prompt datasets");
  withExamples(data, ["medfcl data synth --suite polyp --scale small --out data/polyp", "medfcl data validate data/polyp"]);

  withExamples(
    data
      .command("synth")
      .description("write the deterministic synthetic medical suite (one folder per domain and split, plus suite.json)")
      .option("--suite <name>", "polyp | tasks | all", "polyp")
      .requiredOption("--out <dir>", "output folder")
      .option("--seed <n>", "seed; the same seed gives byte-identical files", "0")
      .option("--scale <scale>", "tiny (tests) | small (>=150 train + 50 test per domain) | full", "small")
      .option("--generator <version>", `generator version: ${SYNTH_GENERATOR_VERSIONS.join(" | ")}; a version's output never changes`, String(SYNTH_GENERATOR_VERSION))
      .action(
        action(async (opts: { suite: string; out: string; seed: string; scale: string; generator: string }) => {
          const started = Date.now();
          const index = await synthesizeSuite({ suite: opts.suite as SuiteName, out: opts.out, seed: parseSeed(opts.seed), scale: opts.scale as SuiteScale, generator: parseGeneratorVersion(opts.generator) });
          for (const d of index.domains) {
            const counts = Object.entries(d.counts).map(([k, v]) => `${k} ${v}`).join(", ");
            process.stdout.write(`${d.name.padEnd(16)} ${d.task.padEnd(15)} ${d.role.padEnd(10)} ${counts}\n`);
          }
          process.stdout.write(`wrote ${join(opts.out, SUITE_FILE)} (${index.domains.length} domains, generator v${index.generator}) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
        }),
      ),
    ["medfcl data synth --suite polyp --scale tiny --seed 1 --out /tmp/polyp", "medfcl data synth --suite all --scale small --out data/all", "medfcl data synth --suite polyp --generator 3 --out data/polyp-v3"],
  );

  withExamples(
    data
      .command("validate")
      .argument("<dir>", "a dataset folder (annotations.json + images/) or a suite folder (suite.json)")
      .option("--no-decode", "check image headers only instead of decoding every image")
      .description("check schema, images (exist, decode, size), boxes, category ids, unique ids and prompts; exit 1 on any problem")
      .action(
        action(async (dir: string, opts: { decode: boolean }) => {
          const problems: ValidationProblem[] = [];
          const folders = datasetFolders(dir);
          for (const f of folders) problems.push(...(await validateDataset(f, { checkImages: opts.decode ? "decode" : "header" })));
          for (const p of problems) process.stdout.write(`${formatProblem(p)}\n`);
          process.stdout.write(problems.length === 0 ? `ok: ${folders.length} dataset folder(s) valid\n` : `${problems.length} problem(s) in ${dir}\n`);
          return problems.length === 0 ? ExitCode.Ok : ExitCode.Failure;
        }),
      ),
    ["medfcl data validate data/kvasir", "medfcl data validate data/polyp --no-decode"],
  );

  withExamples(
    data
      .command("convert")
      .argument("<in>", "input folder (layout per format; --images/--masks/... override the defaults)")
      .requiredOption("--from <format>", FORMATS.join(" | "))
      .requiredOption("--out <dir>", "output dataset folder (annotations.json + images/)")
      .option("--images <dir>", "image folder (default: per format, e.g. IN/images, IN/JPEGImages, IN/train)")
      .option("--masks <dir>", "mask folder for masks / rgb-masks (default IN/masks, IN/train_gt)")
      .option("--annotations <dir>", "VOC XML folder (default IN/Annotations); aperio: folder of <id>.xml or <id>.xml.gz (default IN/Annotations)")
      .option("--labels <dir>", "YOLO label folder; without --images/--labels, IN is read as an Ultralytics folder (data.yaml) or images/ + labels/ + classes.txt")
      .option("--bboxes <file>", "Kvasir-SEG bbox JSON (default IN/kavsir_bboxes.json)")
      .option("--classes <list>", "voc/yolo: a,b,c or a names file; rgb-masks: \"255,0,0=neoplastic polyp;0,255,0=non-neoplastic polyp\"")
      .option("--min-area <px>", "masks: drop connected components smaller than this; kvasir: drop boxes smaller than this after scaling (JPEG specks)", "32")
      .option("--threshold <v>", "masks: foreground if the mask value (max over channels) >= this (0-255; 128 = the usual > 127)", "128")
      .option("--mask-suffix <s>", "masks: mask file = image stem + suffix (e.g. _mask, PH2's _lesion); numbered extras <stem><suffix>_1, _2 are further masks of the image")
      .option("--mask-prefix <s>", "masks: mask file = prefix + image stem (e.g. p for CVC-ColonDB's pN.tiff)")
      .option("--recursive", "masks: also read subfolders of the image and mask folders (PH2: one folder per image; BUSI: one per class)")
      .option("--objects <what>", "masks: component (one box per connected component) | mask (one box per mask file: BUSI's one lesion per file)", "component")
      .option("--tile <RxC>", "cut every image into a grid of tiles (e.g. 4x4 for MoNuSeg's 1000x1000 images); boxes are clipped to each tile")
      .option("--tile-min-visible <f>", "with --tile: a box with less than this fraction inside a tile becomes an ignore region (iscrowd = 1); default 0.25")
      .option("--drop-empty-categories", "leave out categories that no box uses (e.g. TBX11K's unused third class)")
      .option("--category-name <name>", "masks / aperio / dicom: the category of every object", "polyp")
      .option("--prompt-prefix <s>", "prompt prefix for the category(ies)")
      .option("--prompt-name <s>", 'prompt name, e.g. "pink yellow red color oval bump"')
      .option("--prompt-suffix <s>", 'prompt suffix, e.g. " in rectum"')
      .option("--prompts <file>", 'JSON {"category": {"prefix", "name", "suffix"}} for multi-class sets')
      .option("--pair <format>", "dicom: the annotation format next to the DICOM files (masks | rgb-masks | voc | yolo | kvasir)", "masks")
      .option("--difficult <how>", "voc: objects marked difficult: crowd (iscrowd = 1, ignored in training and eval, as VOC's eval does) | keep | drop", "crowd")
      .option("--window <c,w>", "dicom: window center,width (default: from the file, else min..max)")
      .description("convert a public dataset layout to medfcl's COCO + prompt folder, then validate it")
      .action(
        action(async (input: string, f: ConvertFlags) => {
          const report = await runConvert(input, f);
          process.stdout.write(`${formatConvertReport(report)}\n`);
          const problems = await validateDataset(report.out, { checkImages: "header" });
          for (const p of problems) process.stdout.write(`${formatProblem(p)}\n`);
          return problems.length === 0 ? ExitCode.Ok : ExitCode.Failure;
        }),
      ),
    [
      "medfcl data convert --from kvasir Kvasir-SEG --out data/kvasir",
      "medfcl data convert --from masks CVC-ClinicDB --images CVC-ClinicDB/Original --masks 'CVC-ClinicDB/Ground Truth' --min-area 50 --out data/clinicdb",
      "medfcl data convert --from rgb-masks bkai --images bkai/train --masks bkai/train_gt --out data/bkai",
      "medfcl data convert --from voc BCCD --classes RBC,WBC,Platelets --out data/bccd",
      "medfcl data convert --from yolo set --classes nodule --out data/set",
      "medfcl data convert --from yolo tbx11k/tbx11k-small-balanced --drop-empty-categories --out data/tbx11k   # Ultralytics folder (data.yaml)",
      "medfcl data convert --from aperio monuseg/MoNuSegTestData --images monuseg/MoNuSegTestData --annotations monuseg/MoNuSegTestData --category-name nucleus --tile 4x4 --out data/monuseg-test",
      "medfcl data convert --from masks busi --images busi --masks busi --recursive --objects mask --category-name 'breast tumor' --out data/busi",
      "medfcl data convert --from dicom scans --pair masks --masks scans/masks --window 40,400 --category-name nodule --out data/scans",
    ],
  );

  withExamples(
    data
      .command("split")
      .argument("<dataset>", "a converted dataset folder (annotations.json + images/)")
      .requiredOption("--out <dir>", "writes DIR/train, DIR/test (and DIR/val), DIR/split.json; images are hard links")
      .option("--test <fraction>", "fraction of images in test", "0.2")
      .option("--val <fraction>", "fraction of images in val (0 = no val split)", "0")
      .option("--seed <n>", "seed of the hash order; the same seed gives the same bytes", "0")
      .option("--every <n>", "instead of --test/--seed: every nth image by sorted id is test (issue 23's Kvasir rule: --every 5)")
      .option("--val-every <n>", "with --every: every nth of the remaining images (sorted) is val")
      .option("--groups <file>", 'lines "id group": ids of one group stay in one split (e.g. frames of one patient)')
      .option("--include <file>", "keep only the ids listed (one per line), e.g. kvasir-seg/sessile-ids.txt for the sessile domain")
      .option("--exclude <file>", "leave out the ids listed, e.g. the sessile ids when they form their own domain")
      .option("--shareable", "mark every train image shareable: it may leave the site as a privacy-filtered replay exemplar (default: keep each record's own flag)")
      .description("deterministic train/test(/val) split by a hash of the image id (file name stem) or of its group key, or (--every) by sorted id")
      .action(
        action(async (src: string, o: { out: string; test: string; val: string; seed: string; every?: string; valEvery?: string; groups?: string; include?: string; exclude?: string; shareable?: boolean }) => {
          if (o.valEvery !== undefined && o.every === undefined) throw new DataArgumentError("--val-every needs --every");
          if (o.every !== undefined && o.groups) throw new DataArgumentError("--every splits by sorted id; it cannot keep --groups together");
          const r = await splitDataset({
            ...(o.every !== undefined ? { every: { test: Number(o.every), ...(o.valEvery !== undefined ? { val: Number(o.valEvery) } : {}) } } : {}),
            src,
            out: o.out,
            test: Number(o.test),
            val: Number(o.val),
            seed: parseSeed(o.seed),
            ...(o.groups ? { groups: readGroupFile(o.groups) } : {}),
            ...(o.include ? { include: readIdList(o.include) } : {}),
            ...(o.exclude ? { exclude: readIdList(o.exclude) } : {}),
            ...(o.shareable ? { shareable: true } : {}),
          });
          if (r.missingIncluded.length > 0) process.stderr.write(`warning: ${summarizeIds(r.missingIncluded)} of --include are not in ${src}\n`);
          const counts = Object.entries(r.counts).map(([k, v]) => `${k} ${v}`).join(", ");
          process.stdout.write(`wrote ${r.out}: ${counts} (${r.groups} groups${r.excluded ? `, ${r.excluded} images left out by --include/--exclude` : ""})\n`);
        }),
      ),
    [
      "medfcl data split data/kvasir --every 5 --shareable --out real/kvasir   # every 5th sorted id is test",
      "medfcl data split data/kvasir --exclude kvasir-seg/sessile-ids.txt --test 0.2 --seed 0 --out real/kvasir",
      "medfcl data split data/kvasir --include kvasir-seg/sessile-ids.txt --test 0.2 --seed 0 --out real/kvasir-sessile",
      "medfcl data split data/bccd --test 0.2 --val 0.1 --groups patients.txt --out real/cells",
    ],
  );

  withExamples(
    data
      .command("suite")
      .requiredOption("--out <dir>", "suite folder: suite.json is written here, split paths relative to it")
      .requiredOption("--domain <name:task:dir...>", "a domain, in sequence order: NAME:TASK:DIR, DIR a `data split` output (train + test) or one dataset folder (test-only)")
      .option("--test-only <names>", "comma-separated domains used only for testing, even if they have a train split")
      .option("--name <name>", "the suite's name in suite.json", "real")
      .option("--seed <n>", "recorded in suite.json (the seed the splits were made with)", "0")
      .description("write suite.json over split folders (for experiment --data-root and simulate); refuses an image in two splits or domains")
      .action(
        action(async (o: { out: string; domain: string[]; testOnly?: string; name: string; seed: string }) => {
          const testOnly = new Set(commaList(o.testOnly ?? ""));
          const domains = o.domain.map((spec) => {
            const m = /^([^:]+):([^:]+):(.+)$/.exec(spec);
            if (!m) throw new DataArgumentError(`--domain "${spec}" is not NAME:TASK:DIR (e.g. kvasir:polyp:real/kvasir)`);
            return { name: m[1], task: m[2], dir: m[3], testOnly: testOnly.has(m[1]) };
          });
          for (const n of testOnly) if (!domains.some((d) => d.name === n)) throw new DataArgumentError(`--test-only ${n}: no --domain of that name`);
          const index = await assembleSuite({ out: o.out, name: o.name, seed: parseSeed(o.seed), domains });
          for (const d of index.domains) {
            const counts = Object.entries(d.counts).map(([k, v]) => `${k} ${v}`).join(", ");
            process.stdout.write(`${d.name.padEnd(16)} ${d.task.padEnd(10)} ${d.role.padEnd(10)} ${counts}\n`);
          }
          process.stdout.write(`wrote ${join(o.out, SUITE_FILE)} (${index.domains.length} domains; no image in two splits or domains)\n`);
        }),
      ),
    [
      "medfcl data suite --out real --domain kvasir:polyp:real/kvasir --domain kvasir-sessile:polyp:real/kvasir-sessile --domain cells:cells:real/cells",
      "medfcl data suite --out real --domain a:polyp:real/a --domain b:polyp:real/b --test-only b",
    ],
  );

  withExamples(
    data
      .command("real-suite")
      .option("--suite <names>", `which suites, comma-separated: ${REAL_SUITES.join(", ")} (polyp: kvasir -> kvasir-sessile -> bkai, colondb test-only; tasks: kvasir -> fuseg -> busi -> tbx11k -> bccd -> monuseg -> ph2)`, REAL_SUITES.join(","))
      .option("--datasets <dir>", "folder with the datasets (the layout of ../shared/datasets)", "../shared/datasets")
      .option("--out <dir>", "root folder (outside git: runs/ is ignored): each suite goes to DIR/<suite>/ (suite.json there), the converted datasets to DIR/converted/", "runs/real")
      .option("--val", "also hold out a validation split: the dataset's own (BCCD val.txt), else every 5th train image by sorted id")
      .option("--colondb-frames <which>", `CVC-ColonDB frames in the polyp suite's test-only domain: ${COLONDB_FRAMES.join(" | ")} (1-300: without the fecal and poor-view sequences 4, 8, 12, 13)`, "1-300")
      .option("--monuseg-tile <RxC>", "MoNuSeg tiling: 1000x1000 images with hundreds of nuclei become RxC tiles", "4x4")
      .option("--no-shareable", "mark no train image shareable, so no replay exemplar leaves a site (default: all are, these being public research datasets)")
      .description("build the real-data suites from the shared datasets: deterministic splits (a dataset's own, else every 5th image by sorted id is test); prints every conversion's counts and what it dropped")
      .action(
        action(async (o: { suite: string; datasets: string; out: string; val?: boolean; colondbFrames: string; monusegTile: string; shareable: boolean }) => {
          const suites = commaList(o.suite);
          for (const s of suites) if (!(REAL_SUITES as readonly string[]).includes(s)) throw new DataArgumentError(`--suite: "${s}" is not one of ${REAL_SUITES.join(", ")}`);
          const started = Date.now();
          const results = await buildRealSuites({
            datasets: o.datasets,
            out: o.out,
            suites: suites as RealSuiteName[],
            val: o.val === true,
            colondbFrames: o.colondbFrames as ColonDbFrames,
            monusegTile: parseTileSpec(o.monusegTile),
            shareable: o.shareable,
            log: (line) => process.stderr.write(`${line}\n`),
          });
          for (const r of results) {
            const suite = r.index.suite;
            process.stdout.write(`\n== suite ${suite}\n`);
            for (const d of r.datasets) {
              process.stdout.write(`${d.name}:\n${formatConvertReport(d.report, "  ")}\n  split: ${d.splitRule}\n`);
              if (d.duplicates.length > 0) process.stdout.write(`  left out ${d.duplicates.length} exact duplicate image(s) (same bytes as a kept one): ${d.duplicates.map((x) => `${x.id} = ${x.sameAs}`).join(", ")}\n`);
            }
            for (const [name, a] of Object.entries(r.agreement)) process.stdout.write(`${name}: ${AGREEMENT_SOURCES[name]}:\n${formatAgreement(a).replace(/^/gm, "  ")}\n`);
            process.stdout.write(`${formatRealSuite(r)}\n`);
            process.stdout.write(`train images ${o.shareable ? "are" : "are not"} shareable as replay exemplars${o.shareable ? " (--no-shareable to keep every image at its site)" : ""}\n`);
            process.stdout.write(`wrote ${join(r.dir, SUITE_FILE)}\n`);
          }
          process.stdout.write(`built ${suites.join(" and ")} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
        }),
      ),
    [
      "medfcl data real-suite",
      "medfcl data real-suite --suite polyp --out runs/real   # runs/real/polyp/suite.json",
      "medfcl data real-suite --suite tasks --val --datasets /data/shared/datasets --out /tmp/real",
    ],
  );

  withExamples(
    data
      .command("compare")
      .argument("<a>", "a dataset folder (e.g. converted from Kvasir-SEG's box file)")
      .argument("<b>", "another annotation of the same images (matched by file name stem), e.g. converted from the masks")
      .option("--min-median <iou>", "exit 1 when the median per-image IoU is below this (0 = never)", "0")
      .description("how well two annotations of the same images agree: per-image box IoU (one-to-one matching), median over the images both hold")
      .action(
        action(async (a: string, b: string, o: { minMedian: string }) => {
          const min = Number(o.minMedian);
          if (!Number.isFinite(min) || min < 0 || min > 1) throw new DataArgumentError(`--min-median must be a number from 0 to 1, got "${o.minMedian}"`);
          const r = compareBoxes(await loadCocoDataset(a, { checkImages: "none" }), await loadCocoDataset(b, { checkImages: "none" }));
          process.stdout.write(`${formatAgreement(r)}\n`);
          if (r.images === 0) throw new DataArgumentError(`${a} and ${b} share no image (by file name stem); nothing to compare`);
          return r.median >= min ? ExitCode.Ok : ExitCode.Failure;
        }),
      ),
    ["medfcl data compare data/kvasir-json data/kvasir-masks", "medfcl data compare data/kvasir-json data/kvasir-masks --min-median 0.9"],
  );

  withExamples(
    data
      .command("preview")
      .argument("<dir>", "a dataset folder or a suite folder (suite.json: one row per domain)")
      .requiredOption("--out <file>", "PNG to write")
      .option("--thumb <px>", "thumbnail side", numberOption("--thumb", true), 192)
      .option("--per-row <n>", "images per row", numberOption("--per-row", true), 6)
      .option("--max <n>", "images for a single dataset", numberOption("--max", true), 24)
      .description("write a contact sheet PNG with boxes and category names drawn")
      .action(
        action(async (dir: string, o: { out: string; thumb: number; perRow: number; max: number }) => {
          await renderContactSheet(dir, o.out, { thumb: o.thumb, perRow: o.perRow, maxImages: o.max });
          process.stdout.write(`wrote ${o.out}\n`);
        }),
      ),
    ["medfcl data preview data/polyp --out polyp.png", "medfcl data preview data/kvasir --out kvasir.png --per-row 8 --max 32"],
  );

  withExamples(
    data
      .command("distance")
      .argument("<suite>", "a suite folder (suite.json)")
      .option("--split <name>", "which split of each domain to measure (test | train)", "test")
      .description("per-channel colour-histogram (Hellinger) distance between the suite's domains")
      .action(
        action(async (dir: string, o: { split: string }) => {
          const index = readSuiteIndex(dir);
          const domains = [];
          for (const d of index.domains) {
            const split = o.split === "train" ? (d.splits.train ?? d.splits.test) : d.splits.test;
            domains.push({ name: d.name, ds: await loadCocoDataset(join(dir, split), { checkImages: "none" }) });
          }
          process.stdout.write(`${formatDistanceReport(await domainDistances(domains))}\n`);
        }),
      ),
    ["medfcl data distance data/polyp"],
  );

  withExamples(
    data
      .command("profile")
      .argument("<folders...>", "dataset folders, suite folders (suite.json: one row per domain), or name=folder")
      .option("--split <name>", "for suites: which split of each domain to measure (train | test; test-only domains use test)", "train")
      .option("--max-images <n>", "images decoded per domain for the pixel statistics", numberOption("--max-images", true), 60)
      .option("--json <file>", "also write the profiles as JSON")
      .option("--svg <file>", "also draw them: colour, sharpness/contrast and object panels; name folders group/name to colour groups (e.g. real/kvasir=DIR synthetic/kvasir=DIR)")
      .description("measure what domains look like: colour, contrast, sharpness, border, boxes per image, box sizes, and how conspicuous the lesions are (what the synthetic suite is calibrated against)")
      .action(
        action(async (folders: string[], o: { split: string; maxImages: number; json?: string; svg?: string }) => {
          if (o.split !== "train" && o.split !== "test") throw new DataArgumentError(`--split must be train or test, got "${o.split}"`);
          const profiles: DomainProfile[] = [];
          for (const arg of folders) {
            const eq = arg.indexOf("=");
            const [name, dir] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg.replace(/\/+$/, "").split("/").pop() ?? arg, arg];
            if (existsSync(join(dir, SUITE_FILE))) {
              for (const d of readSuiteIndex(dir).domains) {
                const split = o.split === "train" ? (d.splits.train ?? d.splits.test) : d.splits.test;
                profiles.push(await profileDataset(`${name}/${d.name}`, await loadCocoDataset(join(dir, split), { checkImages: "none" }), { maxImages: o.maxImages }));
              }
            } else {
              profiles.push(await profileDataset(name, await loadCocoDataset(dir, { checkImages: "none" }), { maxImages: o.maxImages }));
            }
          }
          process.stdout.write(`${profilesMarkdown(profiles)}\n\nLesions against the mucosa around them (medians; null: the same box point-reflected, where no lesion is):\n\n${conspicuityMarkdown(profiles)}\n`);
          if (o.json) await writeFileAtomic(o.json, `${JSON.stringify(profiles, null, 2)}\n`);
          if (o.svg) await writeFileAtomic(o.svg, scatterPanelsSvg("Domains as measured (medfcl data profile)", profilePanels(profiles)));
        }),
      ),
    ["medfcl data profile runs/real-polyp runs/synth-polyp --json profiles.json", "medfcl data profile kvasir=data/kvasir/train bkai=data/bkai/train"],
  );
}
