/** COCO ground truth as `COCO(annotation_file)` reads it; only the fields bbox evaluation uses. */
export interface CocoGt {
  images: { id: number; width?: number; height?: number }[];
  annotations: {
    id: number;
    image_id: number;
    category_id: number;
    bbox: number[];
    /** Used for the area ranges (not w·h), as pycocotools does. */
    area: number;
    iscrowd?: number;
    /** Ignored: pycocotools overwrites it with `iscrowd`. */
    ignore?: number;
  }[];
  categories: { id: number; name?: string }[];
}

/** One detection as in a COCO results file. */
export interface CocoDetection {
  image_id: number;
  category_id: number;
  bbox: [number, number, number, number];
  score: number;
}

export interface CocoEvalResult {
  /** The 12 numbers of pycocotools `COCOeval.stats` (bbox), in its order. */
  stats: number[];
  /** AP@[.5:.95] (area all, maxDets 100) per category id of the gt; -1 if the category has no non-ignored gt. */
  perCategoryAp: Record<number, number>;
}

/**
 * The raw accumulated arrays, with pycocotools' shapes and C order:
 * precision [T,R,K,A,M], recall [T,K,A,M]; -1 where undefined.
 */
export interface CocoEvalArrays {
  iouThrs: Float64Array;
  recThrs: Float64Array;
  catIds: number[];
  imgIds: number[];
  areaRngLbl: readonly string[];
  maxDets: readonly number[];
  precision: Float64Array;
  recall: Float64Array;
  counts: [number, number, number, number, number];
}

/** AP in percent; step i trained on domain i for the first T = steps.length domains; null = not evaluated. */
export interface AccuracyMatrix {
  steps: string[];
  domains: string[];
  ap: (number | null)[][];
}

export interface ClMetrics {
  acc: number | null;
  bwt: number | null;
  fwt: number | null;
  forgetting: { per_domain: Record<string, number | null>; mean: number | null };
  avg_ap_per_step: (number | null)[];
}

/** A train × test AP matrix (paper Tables 1/2, Figs 3a/3b). */
export interface CrossMatrix {
  train: string[];
  test: string[];
  ap: (number | null)[][];
}

/** `paradigms.json` in a run directory (paper Tables 3/4). */
export interface ParadigmTable {
  domains: string[];
  rows: { paradigm: string; ap: (number | null)[]; avg: number | null; bwt: number | null }[];
}
