import { existsSync, readFileSync, rmSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { writeFileAtomic } from "../../store/index.js";
import { encodeBmp } from "../bmp.js";
import { DataArgumentError, DataNotFoundError, DataValidationError } from "../errors.js";
import { mapLimit } from "../pool.js";
import { hashString, mixSeed, mulberry32, type Rng } from "../prng.js";
import {
  type Annotation,
  type CategoryInfo,
  type ImageInfo,
  type PromptParts,
  type SuiteDomain,
  type SuiteIndex,
  type SuiteName,
  type SuiteScale,
  type SynthesizeOptions,
  type ValidationProblem,
} from "../types.js";
import { type DeviceShift, type Frame, type LabelConvention, type LesionShift, type PolypStyle, renderPolypFrame } from "./endoscopy.js";
import { toBytes } from "./raster.js";
import { renderCells, renderMri, renderUlcer, renderUltrasound } from "./tasks.js";

export const SUITE_FILE = "suite.json";

/**
 * The generator versions this code can write. A version's output never changes for the same
 * (suite, scale, seed): results stored under a synthetic suite's name carry the version
 * (experiments/store.ts), and an older version stays available so stored results can be rebuilt.
 * 2: device, lesion and labelling shifts calibrated against the real polyp sets' means.
 * 3: v2, with CVC-ColonDB's boxes tight like its mask-derived real ones, BKAI's frame colours
 *    calibrated per frame against the real set's spread, and the Kvasir domains stored squashed to
 *    a square like the real copy (docs/data.md, "Generator v3").
 * 5: v3, with each lesion as conspicuous against its mucosa as the real domain's lesions are:
 *    contrast, colour step and surface texture measured by `medfcl data profile` (docs/data.md,
 *    "Generator v5"). Version 4 was a trial that was reverted (14fff4a) and is not reused.
 * 6: v5, with each lesion's surface texture drawn from the real domains' spread around the domain's
 *    median instead of one value per domain (docs/data.md, "Generator v6").
 */
export const SYNTH_GENERATOR_VERSIONS = [2, 3, 5, 6] as const;
export type SynthGeneratorVersion = (typeof SYNTH_GENERATOR_VERSIONS)[number];
/** The version `data synth`, `simulate`, `experiment` and the demo use unless told otherwise. */
export const SYNTH_GENERATOR_VERSION: SynthGeneratorVersion = 2;

export type ImageFormat = { kind: "jpeg"; quality: number } | { kind: "png" } | { kind: "tiff" } | { kind: "bmp" };

/** One task's category: its id is unique across the whole suite so tasks can be joined. */
export interface TaskCategory {
  task: string;
  id: number;
  name: string;
  prompt: PromptParts;
}

export const TASK_CATEGORIES: Record<string, TaskCategory> = {
  polyp: { task: "polyp", id: 1, name: "polyp", prompt: { prefix: "", name: "pink yellow red color oval bump", suffix: " in rectum" } },
  cells: { task: "cells", id: 2, name: "blood cell", prompt: { prefix: "", name: "small round red cell", suffix: " in blood smear" } },
  "thyroid-nodule": {
    task: "thyroid-nodule",
    id: 3,
    name: "thyroid nodule",
    prompt: { prefix: "", name: "dark oval hypoechoic nodule", suffix: " in thyroid ultrasound" },
  },
  "foot-ulcer": { task: "foot-ulcer", id: 4, name: "foot ulcer", prompt: { prefix: "", name: "red yellow open wound", suffix: " on foot skin" } },
  "brain-tumor": { task: "brain-tumor", id: 5, name: "brain tumor", prompt: { prefix: "", name: "bright round tumor", suffix: " in brain MRI" } },
};

export interface DomainSpec {
  name: string;
  task: keyof typeof TASK_CATEGORIES;
  role: "train" | "test-only";
  /** Full-resolution frame sizes [w, h]; one is picked per image. */
  sizes: [number, number][];
  format: ImageFormat;
  /** Gaussian blur sigma in full-resolution pixels (scaled with the image). */
  blur: number;
  /** Image counts per scale: [train, test]; train is 0 for test-only domains. */
  counts: Record<SuiteScale, [number, number]>;
  render: (w: number, h: number, rng: Rng) => Frame;
  /** What the domain imitates, for docs and `medfcl data synth --list`. */
  imitates: string;
  /**
   * Stored squashed to a square of the frame's long side, boxes with it: the published copy's
   * export pipeline resized every frame to one square size without keeping the aspect (generator
   * v3's Kvasir-SEG and Kvasir-Sessile, whose copy here is 256×256 from frames of 622×529 and up).
   */
  storeSquare?: boolean;
}

/** 8-bit RGB to the 0–1 scale the renderer works in. */
const rgb8 = (r: number, g: number, b: number): [number, number, number] => [r / 255, g / 255, b / 255];

/**
 * The devices. Field colour and grey contrast are set so that the measured synthetic domain lands on
 * the real one's measurement at a 256-px working size (`medfcl data profile`, docs/data.md
 * "Synthetic beside real"): the targets started at the real means and were corrected once by the
 * measured difference (clipping, highlights and FICE frames move the mean). Texture, noise and blur
 * put the Laplacian variance in the real domain's range. Domains without a real counterpart here take
 * the measurements of the closest one (CVC-ClinicDB and CVC-300 come from the same hospital and
 * scopes as CVC-ColonDB) and the published descriptions.
 */
const DEVICES: Record<string, DeviceShift> = {
  // Kvasir-SEG (Vestre Viken, Olympus scopes): white light, rounded black frame, scope-guide inset.
  kvasir: { fieldRgb: rgb8(185, 103, 79), rgbJitter: 0.08, contrast: 50 / 255, vignette: 0.35, lumen: 0.6, folds: 0.6, texture: 1.2, distortion: 0.08, noise: 0.012, specular: 1, border: "rounded", inset: 0.6, text: 0.3, colorMode: "white", modeProb: 0 },
  // Same hospital and scopes as Kvasir-SEG.
  sessile: { fieldRgb: rgb8(183, 93, 65), rgbJitter: 0.08, contrast: 52 / 255, vignette: 0.35, lumen: 0.6, folds: 0.5, texture: 1.3, distortion: 0.08, noise: 0.012, specular: 0.6, border: "rounded", inset: 0.5, text: 0.2, colorMode: "white", modeProb: 0 },
  // BKAI-IGH (Hanoi, Fujifilm processors): mostly white light, some FICE/BLI, burned-in text.
  bkai: { fieldRgb: rgb8(180, 97, 66), rgbJitter: 0.1, contrast: 51 / 255, vignette: 0.3, lumen: 0.5, folds: 0.5, texture: 0.75, distortion: 0.12, noise: 0.015, specular: 0.8, border: "rounded", inset: 0, text: 0.8, colorMode: "fice", modeProb: 0.1 },
  // CVC-ClinicDB (Hospital Clinic Barcelona, 384x288 from video): dark, strong vignetting, octagonal frame.
  clinicdb: { fieldRgb: rgb8(149, 95, 68), rgbJitter: 0.1, contrast: 50 / 255, vignette: 0.4, lumen: 0.5, folds: 0.8, texture: 0.6, distortion: 0.2, noise: 0.02, specular: 1.6, border: "octagon", inset: 0, text: 0, colorMode: "white", modeProb: 0 },
  // SinGAN-generated frames: stylized, posterized, far from every camera.
  singan: { fieldRgb: rgb8(160, 95, 70), rgbJitter: 0.05, contrast: 50 / 255, vignette: 0.2, lumen: 0.4, folds: 0.9, texture: 1, distortion: 0, noise: 0.03, specular: 0.7, border: "none", inset: 0, text: 0, colorMode: "stylized", modeProb: 1 },
  // CVC-300 (EndoScene): CVC-ColonDB frames, the CVC scopes' octagonal frame.
  cvc300: { fieldRgb: rgb8(151, 96, 68), rgbJitter: 0.1, contrast: 51 / 255, vignette: 0.35, lumen: 0.5, folds: 0.7, texture: 0.5, distortion: 0.2, noise: 0.02, specular: 1.4, border: "octagon", inset: 0, text: 0, colorMode: "white", modeProb: 0 },
  // CVC-ColonDB: blurry, low resolution, a thin dark frame (19 % dark pixels measured).
  colondb: { fieldRgb: rgb8(143, 93, 68), rgbJitter: 0.1, contrast: 51 / 255, vignette: 0.45, lumen: 0.7, folds: 0.7, texture: 0.5, distortion: 0.05, noise: 0.02, specular: 0.8, border: "rounded", inset: 0, text: 0, colorMode: "white", modeProb: 0 },
  // ETIS-Larib: high resolution, octagonal frame.
  etis: { fieldRgb: rgb8(160, 92, 70), rgbJitter: 0.08, contrast: 48 / 255, vignette: 0.4, lumen: 0.6, folds: 0.6, texture: 1, distortion: 0.1, noise: 0.01, specular: 1, border: "octagon", inset: 0, text: 0.4, colorMode: "white", modeProb: 0 },
};

/**
 * The lesions. Sizes (median and log-normal sigma of the box side over the frame side), counts per
 * frame and the lesion/surround colour ratio are the real domains' measurements; morphology mixes
 * follow the datasets' descriptions (Kvasir-Sessile is the sessile subset; BKAI and ETIS hold many
 * small and flat lesions).
 */
const LESIONS: Record<string, LesionShift> = {
  kvasir: { morphology: { pedunculated: 0.3, sessile: 0.6, flat: 0.1 }, sizeMedian: 0.42, sizeSigma: 0.43, countProbs: [0.95, 0.04, 0.01], tint: [1.19, 1.21, 1.21], pits: 0.5 },
  sessile: { morphology: { pedunculated: 0, sessile: 0.7, flat: 0.3 }, sizeMedian: 0.23, sizeSigma: 0.5, countProbs: [0.93, 0.06, 0.01], tint: [1.21, 1.3, 1.32], pits: 0.4 },
  bkai: { morphology: { pedunculated: 0.25, sessile: 0.5, flat: 0.25 }, sizeMedian: 0.22, sizeSigma: 0.6, countProbs: [0.88, 0.08, 0.04], tint: [1.27, 1.28, 1.3], pits: 0.7 },
  clinicdb: { morphology: { pedunculated: 0.3, sessile: 0.55, flat: 0.15 }, sizeMedian: 0.25, sizeSigma: 0.5, countProbs: [1], tint: [1.19, 1.21, 1.16], pits: 0.4 },
  singan: { morphology: { pedunculated: 0.3, sessile: 0.6, flat: 0.1 }, sizeMedian: 0.38, sizeSigma: 0.4, countProbs: [0.8, 0.2], tint: [1.25, 1.25, 1.25], pits: 0.6 },
  cvc300: { morphology: { pedunculated: 0.3, sessile: 0.55, flat: 0.15 }, sizeMedian: 0.22, sizeSigma: 0.5, countProbs: [1], tint: [1.19, 1.21, 1.16], pits: 0.4 },
  colondb: { morphology: { pedunculated: 0.25, sessile: 0.5, flat: 0.25 }, sizeMedian: 0.22, sizeSigma: 0.6, countProbs: [1], tint: [1.19, 1.21, 1.16], pits: 0.4 },
  etis: { morphology: { pedunculated: 0.1, sessile: 0.5, flat: 0.4 }, sizeMedian: 0.1, sizeSigma: 0.45, countProbs: [0.85, 0.15], tint: [1.15, 1.18, 1.18], pits: 0.5 },
};

/**
 * Each site's annotation protocol (modelled, not measured: the public sets derive boxes from
 * masks; hospitals that draw boxes for a consortium follow their own protocols, docs/data.md).
 * Kvasir and Kvasir-Sessile share one team; the CVC sets share one.
 */
const TIGHT_WHOLE: LabelConvention = { margin: 0, stalk: true, jitter: 0.02 };
const LABELS: Record<string, LabelConvention> = {
  kvasir: TIGHT_WHOLE,
  sessile: TIGHT_WHOLE,
  // Neoplasia sits in the head: the stalk is left out of the box.
  bkai: { margin: 0, stalk: false, jitter: 0.02 },
  // Boxes drawn by hand with a margin of normal mucosa around the lesion.
  clinicdb: { margin: 0.12, stalk: true, jitter: 0.04 },
  cvc300: { margin: 0.12, stalk: true, jitter: 0.04 },
  colondb: { margin: 0.12, stalk: true, jitter: 0.04 },
  // Crowd-sourced boxes: a small margin and more noise.
  singan: { margin: 0.06, stalk: true, jitter: 0.06 },
  etis: TIGHT_WHOLE,
};

/**
 * What generator v3 changes over v2, each set from a measurement of the real sets (docs/data.md,
 * "Generator v3"); every other domain and parameter is v2's.
 * - ColonDB's boxes come from its masks, so they are tight: v2's 12 % margin made the synthetic
 *   ColonDB the hardest domain for every model but ClinicDB's, which real ColonDB is not (§K).
 * - BKAI's frames: v2 matched the real set's *mean* colour with white-light frames as red as
 *   Kvasir's plus 10 % full-strength FICE frames far bluer than any real one (per-frame B/R p90
 *   1.69). Per frame, real BKAI is greener and bluer than Kvasir (G/R 0.66, B/R 0.52 medians
 *   against 0.59, 0.44) and its mode frames are mild (B/R p90 0.61, no frame above 0.8): a bluer
 *   white light, a wider white-balance spread and 12 % mode frames at a fifth of FICE's strength
 *   land on those numbers and keep the mean colour (`medfcl data profile`).
 */
const V3_DEVICES: Record<string, Partial<DeviceShift>> = {
  bkai: { fieldRgb: rgb8(175, 103, 77), rgbJitter: 0.14, modeProb: 0.12, modeStrength: 0.2 },
};
const V3_LABELS: Record<string, LabelConvention> = { colondb: TIGHT_WHOLE };
/**
 * - The Kvasir domains are stored squashed to a square, as the real copy is (256×256 from frames
 *   of 622×529 and up: box aspect median 0.82 against BKAI's 1.01 and ColonDB's 1.00). Measured on
 *   the real specialized models (docs/results.md §K): un-squashing Kvasir-Sessile's test frames
 *   costs the Kvasir model 5.6 AP and squashing BKAI's gains it 6.9, so the geometry is part of
 *   what separates the real Kvasir domains from BKAI.
 */
const V3_SQUARE = new Set(["kvasir", "sessile"]);

/**
 * What generator v5 changes over v3: how the lesions stand out from their mucosa. A pretrained model
 * told v3's lesions of two domains apart far less than real ones (docs/results.md §L), and
 * `medfcl data profile` shows why (docs/data.md, "Generator v5"; real medians → v3): real polyps are
 * paler than their mucosa (chromaticity red step Kvasir −2.0, Kvasir-Sessile −2.9, BKAI −1.2) where
 * v3's came out redder (+1.5, −0.5, +0.9: its tints were the real colour ratios, and the device's
 * per-channel calibration after the drawing turned them red); real lesion surfaces are rougher than
 * the mucosa, v3's smooth; real ColonDB lesions barely stand out (CNR 0.50 against v3's 1.28). The
 * tints below put the *rendered* lesions on the real chromaticity step and luminance, and
 * surfaceTexture on the real roughness. CVC-300 is ColonDB's own frames and ClinicDB the same
 * hospital's, so they take ColonDB's setting; SinGAN and ETIS have no real copy here and keep v3's.
 */
const V5_CVC_LESION: Partial<LesionShift> = { tint: [1.04, 1.07, 1.15], surfaceTexture: 1.6 };
const V5_LESIONS: Record<string, Partial<LesionShift>> = {
  kvasir: { tint: [1.245, 1.33, 1.49], surfaceTexture: 1 },
  sessile: { tint: [1.1, 1.15, 1.29], surfaceTexture: 1.8 },
  bkai: { tint: [1.145, 1.18, 1.3] },
  colondb: V5_CVC_LESION,
  cvc300: V5_CVC_LESION,
  clinicdb: V5_CVC_LESION,
};

/**
 * What generator v6 changes over v5: each lesion's roughness varies around its domain's, by the
 * spread the real domains show (texture p10–p90 width 2.3–4.8 real, 0.8–1.3 in v5). v5's one value
 * per domain made its lesions tell the domains apart, and its models transferred by lesion likeness
 * (docs/results.md §O). ColonDB's median is lowered so that the floor at 0 leaves it near v5's.
 */
const V6_CVC_LESION: Partial<LesionShift> = { surfaceTexture: 0.8, surfaceTextureSpread: 3 };
const V6_LESIONS: Record<string, Partial<LesionShift>> = {
  kvasir: { surfaceTextureSpread: 1.5 },
  sessile: { surfaceTextureSpread: 2 },
  bkai: { surfaceTextureSpread: 0.8 },
  colondb: V6_CVC_LESION,
  cvc300: V6_CVC_LESION,
  clinicdb: V6_CVC_LESION,
};

function stylesOf(version: SynthGeneratorVersion): Record<string, PolypStyle> {
  const v3 = version >= 3;
  return Object.fromEntries(
    Object.keys(DEVICES).map((k) => [
      k,
      {
        device: v3 ? { ...DEVICES[k], ...V3_DEVICES[k] } : DEVICES[k],
        lesion: version >= 5 ? { ...LESIONS[k], ...V5_LESIONS[k], ...(version >= 6 ? V6_LESIONS[k] : {}) } : LESIONS[k],
        label: v3 ? (V3_LABELS[k] ?? LABELS[k]) : LABELS[k],
      },
    ]),
  );
}

const KVASIR_SIZES: [number, number][] = [[622, 530], [720, 576], [1024, 860], [1280, 1024]];

function polyp(name: string, role: "train" | "test-only", sizes: [number, number][], format: ImageFormat, blur: number, counts: DomainSpec["counts"], imitates: string): DomainSpec {
  return { name, task: "polyp", role, sizes, format, blur, counts, imitates, render: (w, h, rng) => renderPolypFrame(STYLES_V2[name], w, h, rng) };
}

const STYLES_V2 = stylesOf(2);

const TRAIN_COUNTS: DomainSpec["counts"] = { tiny: [24, 12], small: [150, 50], full: [800, 200] };

export const POLYP_DOMAINS: DomainSpec[] = [
  polyp("kvasir", "train", KVASIR_SIZES, { kind: "jpeg", quality: 90 }, 0, TRAIN_COUNTS, "Kvasir-SEG: white light, varied resolution, green scope inset, some text"),
  polyp("clinicdb", "train", [[384, 288]], { kind: "tiff" }, 0, { tiny: [24, 12], small: [150, 50], full: [550, 62] }, "CVC-ClinicDB: 384x288 TIFF, dark, strong vignetting, octagonal border"),
  polyp("bkai", "train", [[1280, 959]], { kind: "jpeg", quality: 85 }, 0, TRAIN_COUNTS, "BKAI-IGH NeoPolyp: FICE/BLI colour mode, burned-in text, up to 3 lesions"),
  // Few images at tiny and full scale, like the 196-image Kvasir-Sessile; small meets the 150/50 floor.
  polyp("sessile", "train", KVASIR_SIZES.slice(0, 2), { kind: "jpeg", quality: 90 }, 0, { tiny: [12, 6], small: [150, 50], full: [156, 40] }, "Kvasir-Sessile: small, flat, low-contrast lesions, few images"),
  polyp("singan", "train", [[512, 512]], { kind: "png" }, 0, TRAIN_COUNTS, "SinGAN-generated polyps: stylized, posterized colours, far from the rest"),
  polyp("cvc300", "test-only", [[574, 500]], { kind: "bmp" }, 0, { tiny: [0, 12], small: [0, 60], full: [0, 60] }, "CVC-300 (EndoScene): BMP, circular field, dark"),
  polyp("colondb", "test-only", [[574, 500]], { kind: "png" }, 1.6, { tiny: [0, 12], small: [0, 60], full: [0, 380] }, "CVC-ColonDB: blurry, low contrast, no border"),
  polyp("etis", "test-only", [[1225, 966]], { kind: "png" }, 0.8, { tiny: [0, 12], small: [0, 60], full: [0, 196] }, "ETIS-Larib: high resolution, small lesions"),
];

export const TASK_DOMAINS: DomainSpec[] = [
  { ...POLYP_DOMAINS[0], name: "polyp", imitates: "polyp task (Kvasir-SEG-like frames)" },
  { name: "cells", task: "cells", role: "train", sizes: [[640, 480]], format: { kind: "jpeg", quality: 92 }, blur: 0, counts: TRAIN_COUNTS, render: renderCells, imitates: "BCCD blood smear: many small round cells" },
  { name: "thyroid-nodule", task: "thyroid-nodule", role: "train", sizes: [[560, 420]], format: { kind: "jpeg", quality: 85 }, blur: 0.8, counts: TRAIN_COUNTS, render: renderUltrasound, imitates: "TN3K thyroid ultrasound: speckle, sector scan, dark nodule" },
  { name: "foot-ulcer", task: "foot-ulcer", role: "train", sizes: [[640, 480]], format: { kind: "jpeg", quality: 90 }, blur: 0, counts: TRAIN_COUNTS, render: renderUlcer, imitates: "DFUC2020 foot photos: skin with red/yellow wounds" },
  { name: "brain-tumor", task: "brain-tumor", role: "train", sizes: [[512, 512]], format: { kind: "png" }, blur: 0, counts: TRAIN_COUNTS, render: renderMri, imitates: "brain MRI slice: grey, bright round tumour" },
];

/** The polyp domains as a generator version draws them (POLYP_DOMAINS is version 2's). */
function polypDomainsOf(version: SynthGeneratorVersion): DomainSpec[] {
  if (version === 2) return POLYP_DOMAINS;
  const styles = stylesOf(version);
  return POLYP_DOMAINS.map((d) => ({
    ...d,
    render: (w: number, h: number, rng: Rng) => renderPolypFrame(styles[d.name], w, h, rng),
    ...(V3_SQUARE.has(d.name) ? { storeSquare: true } : {}),
  }));
}

/** Which domains each suite holds; "all" has the 8 polyp domains plus the 4 non-polyp tasks. */
export function suiteDomains(suite: SuiteName, version: SynthGeneratorVersion = SYNTH_GENERATOR_VERSION): DomainSpec[] {
  const polypDomains = polypDomainsOf(version);
  switch (suite) {
    case "polyp":
      return polypDomains;
    case "tasks":
      // The polyp task is the Kvasir domain under the task's name, as the version draws it.
      return [{ ...polypDomains[0], name: TASK_DOMAINS[0].name, imitates: TASK_DOMAINS[0].imitates }, ...TASK_DOMAINS.slice(1)];
    case "all":
      return [...polypDomains, ...TASK_DOMAINS.slice(1)];
  }
}

/**
 * Full-resolution sides are multiplied by this factor (tiny 0.25, small 0.3, full 1), then
 * raised so that the long side is at least `minLong` px; relative resolution shifts survive.
 */
export const SCALE_FACTORS: Record<SuiteScale, { factor: number; minLong: number }> = {
  tiny: { factor: 0.25, minLong: 160 },
  small: { factor: 0.3, minLong: 192 },
  full: { factor: 1, minLong: 0 },
};

export function scaledSize(w: number, h: number, scale: SuiteScale): [number, number] {
  const { factor, minLong } = SCALE_FACTORS[scale];
  const f = Math.max(factor, minLong / Math.max(w, h));
  return [Math.max(16, Math.round(w * f)), Math.max(16, Math.round(h * f))];
}

const EXT: Record<ImageFormat["kind"], string> = { jpeg: "jpg", png: "png", tiff: "tif", bmp: "bmp" };

/** Encodes with fixed options so the same pixels always give the same bytes. */
async function encode(bytes: Uint8Array, w: number, h: number, channels: 1 | 3, format: ImageFormat, blurSigma: number, stored: [number, number] = [w, h]): Promise<Buffer> {
  const resized = stored[0] !== w || stored[1] !== h;
  if (format.kind === "bmp" && blurSigma < 0.3 && channels === 3 && !resized) return encodeBmp({ width: w, height: h, data: bytes });
  let img = sharp(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { raw: { width: w, height: h, channels } });
  if (blurSigma >= 0.3) img = img.blur(blurSigma);
  // Resized apart: in one pipeline sharp resizes before it blurs, and the blur belongs to the frame.
  if (resized) img = sharp(await img.resize(stored[0], stored[1], { fit: "fill", kernel: "lanczos3" }).raw().toBuffer(), { raw: { width: stored[0], height: stored[1], channels } });
  if (channels === 1) img = img.toColourspace("b-w");
  switch (format.kind) {
    case "jpeg":
      return img.jpeg({ quality: format.quality, chromaSubsampling: "4:2:0", mozjpeg: false, progressive: false, optimiseCoding: true }).toBuffer();
    case "png":
      return img.png({ compressionLevel: 6, adaptiveFiltering: false, palette: false }).toBuffer();
    case "tiff":
      return img.tiff({ compression: "deflate", predictor: "horizontal" }).toBuffer();
    case "bmp": {
      const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
      return encodeBmp({ width: info.width, height: info.height, data });
    }
  }
}

const GREY_TASKS = new Set(["thyroid-nodule", "brain-tumor"]);

async function writeSplit(
  spec: DomainSpec,
  dir: string,
  split: "train" | "test",
  count: number,
  opts: SynthesizeOptions,
): Promise<{ images: number; boxes: number }> {
  const imagesDir = join(dir, "images");
  await mkdir(imagesDir, { recursive: true });
  const cat = TASK_CATEGORIES[spec.task];
  const ext = EXT[spec.format.kind];
  const channels: 1 | 3 = GREY_TASKS.has(spec.task) ? 1 : 3;
  const domainSeed = mixSeed(opts.seed, hashString(spec.name), hashString(split));
  const results = await mapLimit(Array.from({ length: count }, (_, i) => i), 3, async (i) => {
    const rng = mulberry32(mixSeed(domainSeed, i));
    const full = spec.sizes[Math.floor(rng() * spec.sizes.length)];
    const [w, h] = scaledSize(full[0], full[1], opts.scale);
    const frame = spec.render(w, h, rng);
    const sigma = (spec.blur * w) / full[0];
    const side = Math.max(w, h);
    const [sw, sh]: [number, number] = spec.storeSquare ? [side, side] : [w, h];
    const buf = await encode(toBytes(frame.canvas, channels), w, h, channels, spec.format, sigma, [sw, sh]);
    const fileName = `images/${String(i + 1).padStart(6, "0")}.${ext}`;
    // Images are regenerable; suite.json, written atomically last, marks a complete suite.
    await writeFile(join(dir, fileName), buf);
    const sx = sw / w;
    const sy = sh / h;
    const boxes = sx === 1 && sy === 1 ? frame.boxes : frame.boxes.map(([x, y, bw, bh]): [number, number, number, number] => [x * sx, y * sy, bw * sx, bh * sy]);
    return { id: i + 1, file_name: fileName, width: sw, height: sh, boxes };
  });
  const images: ImageInfo[] = [];
  const annotations: Annotation[] = [];
  for (const r of results) {
    // Site-manifest fields the privacy policy reads: every 10th synthetic record is withheld
    // (not shareable), and records group into pseudo-patients of four images.
    images.push({ id: r.id, file_name: r.file_name, width: r.width, height: r.height, shareable: r.id % 10 !== 0, patient_id: `${spec.name}-p${Math.ceil(r.id / 4)}` } as ImageInfo);
    for (const b of r.boxes) {
      annotations.push({ id: annotations.length + 1, image_id: r.id, category_id: cat.id, bbox: b, area: b[2] * b[3], iscrowd: 0 });
    }
  }
  const categories: CategoryInfo[] = [{ id: cat.id, name: cat.name, prompt: cat.prompt }];
  const coco = { info: { description: `medfcl synthetic ${spec.name} ${split}`, imitates: spec.imitates, seed: opts.seed, scale: opts.scale }, images, annotations, categories };
  await writeFileAtomic(join(dir, "annotations.json"), `${JSON.stringify(coco)}\n`);
  return { images: images.length, boxes: annotations.length };
}

export function parseSynthesizeOptions(o: Partial<SynthesizeOptions>): SynthesizeOptions & { generator: SynthGeneratorVersion } {
  const suite = o.suite ?? "polyp";
  const scale = o.scale ?? "tiny";
  if (!["polyp", "tasks", "all"].includes(suite)) throw new DataArgumentError(`--suite must be polyp, tasks or all, got "${suite}"`);
  if (!["tiny", "small", "full"].includes(scale)) throw new DataArgumentError(`--scale must be tiny, small or full, got "${scale}"`);
  const seed = o.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new DataArgumentError(`--seed must be an integer in [0, 2^32), got ${seed}`);
  if (!o.out) throw new DataArgumentError("--out DIR is required");
  const generator = parseGeneratorVersion(o.generator ?? SYNTH_GENERATOR_VERSION);
  const known = new Set(suiteDomains(suite, generator).map((d) => d.name));
  for (const d of o.domains ?? []) {
    if (!known.has(d)) throw new DataArgumentError(`--domains: "${d}" is not in the ${suite} suite (${[...known].join(", ")})`);
  }
  return { suite, scale, seed, out: o.out, generator, ...(o.domains ? { domains: o.domains } : {}) };
}

/** A generator version from a flag or an option: one this code can write, or a clear error. */
export function parseGeneratorVersion(v: unknown): SynthGeneratorVersion {
  const n = typeof v === "string" && /^\d+$/.test(v.trim()) ? Number(v) : v;
  const known: readonly number[] = SYNTH_GENERATOR_VERSIONS;
  if (typeof n !== "number" || !known.includes(n)) {
    throw new DataArgumentError(`--generator must be one of ${SYNTH_GENERATOR_VERSIONS.join(", ")} (the synthetic generator's version; default ${SYNTH_GENERATOR_VERSION}), got "${String(v)}"`);
  }
  return n as SynthGeneratorVersion;
}

/**
 * Writes a synthetic suite: one folder per domain and split (annotations.json + images/) and
 * suite.json. The same options give byte-identical files.
 */
export async function synthesizeSuite(options: SynthesizeOptions): Promise<SuiteIndex> {
  const opts = parseSynthesizeOptions(options);
  await mkdir(opts.out, { recursive: true });
  const domains: SuiteDomain[] = [];
  const wanted = opts.domains ? new Set(opts.domains) : null;
  const generator = opts.generator;
  for (const spec of suiteDomains(opts.suite, generator).filter((d) => !wanted || wanted.has(d.name))) {
    const [nTrain, nTest] = spec.counts[opts.scale];
    // Stale images of an earlier, larger synthesis would otherwise sit next to the new ones.
    rmSync(join(opts.out, spec.name), { recursive: true, force: true });
    const splits: SuiteDomain["splits"] = { test: `${spec.name}/test` };
    const counts: Record<string, number> = {};
    if (spec.role === "train" && nTrain > 0) {
      splits.train = `${spec.name}/train`;
      counts.train = (await writeSplit(spec, join(opts.out, spec.name, "train"), "train", nTrain, opts)).images;
    }
    counts.test = (await writeSplit(spec, join(opts.out, spec.name, "test"), "test", nTest, opts)).images;
    const cat = TASK_CATEGORIES[spec.task];
    domains.push({ name: spec.name, task: spec.task, role: spec.role, prompt: cat.prompt, splits, counts });
  }
  const index: SuiteIndex = { suite: opts.suite, seed: opts.seed, scale: opts.scale, generator, domains };
  await writeFileAtomic(join(opts.out, SUITE_FILE), `${JSON.stringify(index, null, 2)}\n`);
  return index;
}

/**
 * The folder name of a synthetic suite inside a cache folder: one per (suite, scale, seed,
 * generator). Version 2's names carry no version, as they did before v3, so their folders stay valid.
 */
export function syntheticSuiteName(o: Pick<SynthesizeOptions, "suite" | "scale" | "seed" | "generator">): string {
  const generator = o.generator ?? SYNTH_GENERATOR_VERSION;
  return `${o.suite}-${o.scale}-seed${o.seed}${generator === 2 ? "" : `-generator${generator}`}`;
}

/**
 * The synthetic suite in `options.out`, written first when the folder has none or holds one from
 * another generator version (a suite.json without a version is v2's). `onWrite` hears before it writes.
 */
export async function ensureSyntheticSuite(options: SynthesizeOptions, onWrite?: (generator: SynthGeneratorVersion) => void): Promise<SuiteIndex> {
  const generator = parseGeneratorVersion(options.generator ?? SYNTH_GENERATOR_VERSION);
  if (existsSync(join(options.out, SUITE_FILE))) {
    const index = readSuiteIndex(options.out);
    if ((index.generator ?? 2) === generator) return index;
  }
  onWrite?.(generator);
  return synthesizeSuite({ ...options, generator });
}

/** The domains a site can train on: role "train" with a train split (one agent each in a simulation). */
export function trainingDomains(index: SuiteIndex): SuiteDomain[] {
  return index.domains.filter((d) => d.role === "train" && d.splits.train !== undefined);
}

/** Reads and checks `DIR/suite.json`; split paths stay relative to `dir`. */
export function readSuiteIndex(dir: string): SuiteIndex {
  const file = join(dir, SUITE_FILE);
  if (!existsSync(file)) throw new DataNotFoundError(file, "suite index (suite.json); create one with `medfcl data synth --out DIR`");
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new DataValidationError(dir, [{ file, record: "", field: "", message: `is not valid JSON (${err instanceof Error ? err.message : String(err)})` }], { cause: err });
  }
  const problems: ValidationProblem[] = [];
  const add = (record: string, field: string, message: string): void => {
    problems.push({ file, record, field, message });
  };
  const r = raw as Partial<SuiteIndex> | null;
  if (typeof r !== "object" || r === null || Array.isArray(r)) {
    add("", "", "must be an object");
    throw new DataValidationError(dir, problems);
  }
  if (typeof r.suite !== "string") add("", "suite", "must be a string");
  if (typeof r.seed !== "number") add("", "seed", "must be a number");
  if (typeof r.scale !== "string") add("", "scale", "must be a string");
  if (!Array.isArray(r.domains)) add("", "domains", "must be an array");
  const names = new Set<string>();
  for (const [i, dm] of (Array.isArray(r.domains) ? r.domains : []).entries()) {
    const rec = typeof dm?.name === "string" ? `domain ${dm.name}` : `domains[${i}]`;
    if (typeof dm?.name !== "string" || dm.name === "") add(rec, "name", "must be a non-empty string");
    else if (names.has(dm.name)) add(rec, "name", "duplicate domain name");
    else names.add(dm.name);
    if (typeof dm?.task !== "string") add(rec, "task", "must be a string");
    if (dm?.role !== "train" && dm?.role !== "test-only") add(rec, "role", 'must be "train" or "test-only"');
    const p = dm?.prompt;
    if (!p || typeof p.prefix !== "string" || typeof p.name !== "string" || typeof p.suffix !== "string") add(rec, "prompt", "must be {prefix, name, suffix} strings");
    if (typeof dm?.splits?.test !== "string") add(rec, "splits.test", "must be a folder relative to the suite");
    if (dm?.splits?.train !== undefined && typeof dm.splits.train !== "string") add(rec, "splits.train", "must be a folder relative to the suite");
    if (dm?.splits?.val !== undefined && typeof dm.splits.val !== "string") add(rec, "splits.val", "must be a folder relative to the suite");
    if (dm?.role === "train" && typeof dm?.splits?.train !== "string") add(rec, "splits.train", 'a "train" domain needs a train split');
    if (typeof dm?.counts !== "object" || dm.counts === null) add(rec, "counts", "must be an object of split -> image count");
  }
  if (problems.length > 0) throw new DataValidationError(dir, problems);
  return r as SuiteIndex;
}
