/** The three parts of a category's grounding prompt (GLIP/ODinW convention). */
export interface PromptParts {
  prefix: string;
  name: string;
  suffix: string;
}

export interface CategoryInfo {
  id: number;
  name: string;
  prompt: PromptParts;
}

export interface ImageInfo {
  id: number;
  file_name: string;
  width: number;
  height: number;
  /**
   * The categories whose prompts make this image's caption; absent means every category of the
   * dataset. Set where a dataset mixes sources with different label sets (a pool of several tasks,
   * a replay buffer), so each image is grounded only against the classes its source labelled.
   */
  caption_categories?: number[];
}

export interface Annotation {
  id: number;
  image_id: number;
  category_id: number;
  /** x, y, w, h in original image pixels. */
  bbox: [number, number, number, number];
  area: number;
  iscrowd: 0 | 1;
}

/** Optional per-image caption (from `captions.json`, keyed by the image's file_name). */
export interface ImageCaption {
  caption?: string;
  prefix?: string;
  name?: string;
  suffix?: string;
}

/** Metadata only; pixels load lazily through {@link loadSample}. */
export interface CocoDataset {
  dir: string;
  images: ImageInfo[];
  annotations: Annotation[];
  categories: CategoryInfo[];
  annotationsByImage: Map<number, Annotation[]>;
  /** Per-image captions keyed by image id, when the dataset has a `captions.json`. */
  captions?: Map<number, ImageCaption>;
}

/** Maps original image pixels to model pixels: model = orig * scale + pad, then mirrored if flipped. */
export interface LetterboxTransform {
  scale: number;
  padX: number;
  padY: number;
  flipped: boolean;
  origWidth: number;
  origHeight: number;
  size: number;
}

export interface Sample {
  imageId: number;
  size: number;
  /** size*size*3, HWC, RGB in [0,1]. */
  pixels: Float32Array;
  /** n*4: x1, y1, x2, y2 in model pixels. */
  boxes: Float32Array;
  /** Category ids, one per box. */
  labels: Int32Array;
  transform: LetterboxTransform;
}

export interface AugmentOptions {
  /** Mirror horizontally with probability 0.5. */
  flip: boolean;
  /** Relative scale change: the letterbox scale is multiplied by U(1-j, 1+j), and the image is placed at a random offset. */
  scaleJitter: number;
  /** Brightness, contrast and saturation factors drawn from U(1-c, 1+c). */
  colorJitter: number;
}

export interface LoadSampleOptions {
  size: number;
  augment?: AugmentOptions | false;
  seed?: number;
}

export interface IterateBatchesOptions {
  batchSize: number;
  size: number;
  shuffle?: boolean;
  seed: number;
  augment?: AugmentOptions | false;
  /** Subset of dataset indices (positions in `ds.images`) to iterate. */
  indices?: number[];
  /** Keep the last batch if it is smaller than batchSize (default true). */
  keepLast?: boolean;
}

export type SuiteName = "polyp" | "tasks" | "all";
export type SuiteScale = "tiny" | "small" | "full";

export interface SynthesizeOptions {
  suite: SuiteName;
  out: string;
  seed: number;
  scale: SuiteScale;
  /** Only these domains (by name); the default is every domain of the suite. */
  domains?: string[];
  /** The synthetic generator's version (synth/suite.ts SYNTH_GENERATOR_VERSIONS); default the current one. */
  generator?: number;
}

export interface SuiteDomain {
  name: string;
  task: string;
  role: "train" | "test-only";
  prompt: PromptParts;
  /** Folders relative to the suite directory (val: held out for tuning; nothing reads it yet). */
  splits: { train?: string; val?: string; test: string };
  /** Image counts per split name. */
  counts: Record<string, number>;
}

export interface SuiteIndex {
  suite: string;
  seed: number;
  scale: string;
  /** The synthetic generator version that wrote the suite; absent for real suites (and suites from before v3). */
  generator?: number;
  domains: SuiteDomain[];
}

/** One problem found in a dataset: where it is (file, record, field) and what to do. */
export interface ValidationProblem {
  file: string;
  /** e.g. "image 12", "annotation 7", "category 1", or "" for file-level problems. */
  record: string;
  field: string;
  message: string;
}

/** Decoded 8-bit RGB pixels, row-major HWC. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}
