/**
 * The real-data suite from a folder laid out like `../shared/datasets` (kvasir-seg/ with images/,
 * masks/, kavsir_bboxes.json, sessile-ids.txt; bccd/ in Pascal VOC layout): domains `kvasir`
 * (Kvasir-SEG without the Kvasir-Sessile ids) and `kvasir-sessile` (those ids), task `cells` (BCCD),
 * in that sequence order. The same steps as the documented CLI sequence (docs/data.md), in one call.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadCocoDataset } from "./coco.js";
import { compareBoxes, type AgreementReport } from "./compare.js";
import { type ConvertReport, type PromptMap } from "./convert/common.js";
import { convertKvasir, convertMasks, convertVoc } from "./convert/formats.js";
import { DataNotFoundError } from "./errors.js";
import { assembleSuite, readIdList, splitDataset, type SplitResult } from "./split.js";
import { type SuiteIndex } from "./types.js";

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

export interface RealSuiteOptions {
  /** Folder holding kvasir-seg/ and bccd/. */
  datasets: string;
  /** The suite folder (converted/, kvasir/, kvasir-sessile/, cells/, suite.json). */
  out: string;
  seed: number;
  /** Test fraction of every domain. */
  test: number;
  /** Mask components / JSON boxes under this many pixels are specks (default 32). */
  minArea?: number;
  /**
   * Mark the train images shareable (default true): these public research datasets may serve as
   * replay exemplars inside a research federation; false gives a suite from which no exemplar
   * leaves a site (rehearsal then trains like sequential).
   */
  shareable?: boolean;
}

export interface RealSuiteResult {
  index: SuiteIndex;
  converted: { kvasir: ConvertReport; kvasirMasks: ConvertReport; bccd: ConvertReport };
  /** Kvasir-SEG: boxes from the JSON vs boxes from the masks. */
  agreement: AgreementReport;
  splits: Record<string, SplitResult>;
}

export async function buildRealSuite(o: RealSuiteOptions): Promise<RealSuiteResult> {
  const src = resolve(o.datasets);
  const kv = join(src, "kvasir-seg");
  const bccd = join(src, "bccd");
  for (const [p, what] of [
    [join(kv, "kavsir_bboxes.json"), "Kvasir-SEG box file"],
    [join(kv, "masks"), "Kvasir-SEG masks"],
    [join(kv, "sessile-ids.txt"), "Kvasir-Sessile id list"],
    [join(bccd, "Annotations"), "BCCD VOC annotations"],
  ] as const) {
    if (!existsSync(p)) throw new DataNotFoundError(p, `${what} (expected the layout of ../shared/datasets)`);
  }
  const out = resolve(o.out);
  const conv = join(out, "converted");
  mkdirSync(conv, { recursive: true });
  const minArea = o.minArea ?? 32;
  const kvasir = await convertKvasir({ bboxes: join(kv, "kavsir_bboxes.json"), images: join(kv, "images"), minArea, out: join(conv, "kvasir") });
  const kvasirMasks = await convertMasks({ images: join(kv, "images"), masks: join(kv, "masks"), minArea, category: "polyp", threshold: 128, out: join(conv, "kvasir-masks") });
  const agreement = compareBoxes(await loadCocoDataset(join(conv, "kvasir"), { checkImages: "none" }), await loadCocoDataset(join(conv, "kvasir-masks"), { checkImages: "none" }));
  const cells = await convertVoc({ annotations: join(bccd, "Annotations"), images: join(bccd, "JPEGImages"), classes: BCCD_CLASSES, difficult: "crowd", prompts: BCCD_PROMPTS, out: join(conv, "bccd") });
  const sessile = readIdList(join(kv, "sessile-ids.txt"));
  const shareable = o.shareable ?? true;
  const splits: Record<string, SplitResult> = {
    kvasir: await splitDataset({ src: join(conv, "kvasir"), out: join(out, "kvasir"), test: o.test, seed: o.seed, exclude: sessile, shareable }),
    "kvasir-sessile": await splitDataset({ src: join(conv, "kvasir"), out: join(out, "kvasir-sessile"), test: o.test, seed: o.seed, include: sessile, shareable }),
    cells: await splitDataset({ src: join(conv, "bccd"), out: join(out, "cells"), test: o.test, seed: o.seed, shareable }),
  };
  const index = await assembleSuite({
    out,
    name: "real",
    seed: o.seed,
    domains: [
      { name: "kvasir", task: "polyp", dir: join(out, "kvasir") },
      { name: "kvasir-sessile", task: "polyp", dir: join(out, "kvasir-sessile") },
      { name: "cells", task: "cells", dir: join(out, "cells") },
    ],
  });
  return { index, converted: { kvasir, kvasirMasks, bccd: cells }, agreement, splits };
}
