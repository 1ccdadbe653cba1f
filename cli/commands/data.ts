import { type Command } from "commander";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  DataArgumentError,
  SUITE_FILE,
  convertDicom,
  convertKvasir,
  convertMasks,
  convertRgbMasks,
  convertVoc,
  convertYolo,
  domainDistances,
  formatDistanceReport,
  formatProblem,
  loadCocoDataset,
  parseColorClasses,
  readClassNames,
  renderContactSheet,
  type ConvertReport,
  type DicomPair,
  type PromptMap,
  readSuiteIndex,
  synthesizeSuite,
  validateDataset,
  type SuiteName,
  type SuiteScale,
  type ValidationProblem,
} from "../../services/data/index.js";
import { action, ExitCode, numberOption, withExamples } from "../context.js";

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
  threshold: string;
  promptPrefix?: string;
  promptName?: string;
  promptSuffix?: string;
  prompts?: string;
  pair?: string;
  window?: string;
}

const FORMATS = ["kvasir", "masks", "rgb-masks", "voc", "yolo", "dicom"] as const;

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
  if (f.classes !== undefined) return existsSync(f.classes) ? readClassNames(f.classes) : f.classes.split(",").map((s) => s.trim()).filter((s) => s);
  for (const c of ["classes.txt", "obj.names"]) if (existsSync(join(root, c))) return readClassNames(join(root, c));
  return undefined;
}

function minArea(f: ConvertFlags): number {
  const v = Number(f.minArea);
  if (!Number.isFinite(v) || v < 1) throw new DataArgumentError(`--min-area must be a number >= 1, got "${f.minArea}"`);
  return v;
}

async function runConvert(input: string, f: ConvertFlags): Promise<ConvertReport> {
  const threshold = Number(f.threshold);
  if (!Number.isFinite(threshold)) throw new DataArgumentError(`--threshold must be a number, got "${f.threshold}"`);
  switch (f.from) {
    case "kvasir":
      return convertKvasir({ bboxes: pick(input, f.bboxes, ["kavsir_bboxes.json", "kvasir_bboxes.json", "bboxes.json"]), images: pick(input, f.images, ["images", "."]), out: f.out, prompts: promptMap(f, ["polyp"]) });
    case "masks":
      return convertMasks({ images: pick(input, f.images, ["images", "Original", "original", "."]), masks: pick(input, f.masks, ["masks", "Ground Truth", "GroundTruth", "ground_truth"]), minArea: minArea(f), category: f.categoryName, threshold, maskSuffix: f.maskSuffix, out: f.out, prompts: promptMap(f, [f.categoryName]) });
    case "rgb-masks": {
      const classes = f.classes ? parseColorClasses(f.classes) : undefined;
      return convertRgbMasks({ images: pick(input, f.images, ["train", "images", "."]), masks: pick(input, f.masks, ["train_gt", "masks"]), minArea: minArea(f), classes, maskSuffix: f.maskSuffix, out: f.out, prompts: promptMap(f, (classes ?? []).map((c) => c.name)) });
    }
    case "voc": {
      const classes = classList(input, f);
      return convertVoc({ annotations: pick(input, f.annotations, ["Annotations", "annotations"]), images: pick(input, f.images, ["JPEGImages", "images"]), classes, out: f.out, prompts: promptMap(f, classes ?? []) });
    }
    case "yolo": {
      const classes = classList(input, f);
      if (!classes) throw new DataArgumentError("--from yolo needs --classes a,b,c (or a classes.txt / obj.names in the input folder)");
      return convertYolo({ images: pick(input, f.images, ["images", "."]), labels: pick(input, f.labels, ["labels", "."]), classes, out: f.out, prompts: promptMap(f, classes) });
    }
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
      .action(
        action(async (opts: { suite: string; out: string; seed: string; scale: string }) => {
          const started = Date.now();
          const index = await synthesizeSuite({ suite: opts.suite as SuiteName, out: opts.out, seed: parseSeed(opts.seed), scale: opts.scale as SuiteScale });
          for (const d of index.domains) {
            const counts = Object.entries(d.counts).map(([k, v]) => `${k} ${v}`).join(", ");
            process.stdout.write(`${d.name.padEnd(16)} ${d.task.padEnd(15)} ${d.role.padEnd(10)} ${counts}\n`);
          }
          process.stdout.write(`wrote ${join(opts.out, SUITE_FILE)} (${index.domains.length} domains) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
        }),
      ),
    ["medfcl data synth --suite polyp --scale tiny --seed 1 --out /tmp/polyp", "medfcl data synth --suite all --scale small --out data/all"],
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
      .option("--annotations <dir>", "VOC XML folder (default IN/Annotations)")
      .option("--labels <dir>", "YOLO label folder (default IN/labels)")
      .option("--bboxes <file>", "Kvasir-SEG bbox JSON (default IN/kavsir_bboxes.json)")
      .option("--classes <list>", "voc/yolo: a,b,c or a names file; rgb-masks: \"255,0,0=neoplastic polyp;0,255,0=non-neoplastic polyp\"")
      .option("--min-area <px>", "masks: drop connected components smaller than this", "32")
      .option("--threshold <v>", "masks: foreground if the mask value >= this (0-255)", "128")
      .option("--mask-suffix <s>", "masks: mask file = image stem + suffix (e.g. _mask)")
      .option("--category-name <name>", "masks / dicom: the category of every component", "polyp")
      .option("--prompt-prefix <s>", "prompt prefix for the category(ies)")
      .option("--prompt-name <s>", 'prompt name, e.g. "pink yellow red color oval bump"')
      .option("--prompt-suffix <s>", 'prompt suffix, e.g. " in rectum"')
      .option("--prompts <file>", 'JSON {"category": {"prefix", "name", "suffix"}} for multi-class sets')
      .option("--pair <format>", "dicom: the annotation format next to the DICOM files (masks | rgb-masks | voc | yolo | kvasir)", "masks")
      .option("--window <c,w>", "dicom: window center,width (default: from the file, else min..max)")
      .description("convert a public dataset layout to medfcl's COCO + prompt folder, then validate it")
      .action(
        action(async (input: string, f: ConvertFlags) => {
          const report = await runConvert(input, f);
          for (const s of report.skipped) process.stderr.write(`skipped: ${s}\n`);
          process.stdout.write(`wrote ${report.out}: ${report.images} images, ${report.annotations} boxes, categories ${report.categories.join(", ")}\n`);
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
      "medfcl data convert --from dicom scans --pair masks --masks scans/masks --window 40,400 --category-name nodule --out data/scans",
    ],
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
}
