/**
 * One evaluation of a model checkpoint on a COCO test split, shared by every place that evaluates:
 * the coordinator (central test sets), a site agent (its own held-out split) and an eval worker
 * (jobs from JetStream). They run the same code on the same model bytes, so their numbers agree
 * exactly; `sameEvaluation` is the check a run with evaluation "both" applies.
 */
import type { CocoDataset } from "../data/index.js";
import { evaluateCoco, type CocoEvalResult } from "../eval/index.js";
import { createOnnxDetector, exportOnnx, parseCheckpoint } from "../model/index.js";

export interface DomainEvaluation {
  domain: string;
  /** COCO AP@[.5:.95] in percent, as the paper reports it. */
  ap: number;
  /** AP@0.5 in percent. */
  ap50: number;
  /** The 12 pycocotools summary numbers (fractions); -1 where COCO leaves one undefined. */
  stats: number[];
  /** AP@[.5:.95] per category id (fraction); -1 when the category has no ground truth. */
  perCategoryAp: Record<number, number>;
}

/** A test split to evaluate on, loaded (loadCocoDataset). */
export interface EvalDataset {
  domain: string;
  dataset: CocoDataset;
}

/** Onnxruntime intra-op threads of every evaluator unless told otherwise (results do not depend on it). */
export const DEFAULT_EVAL_THREADS = 2;

/** The numbers R and the audit keep, from pycocotools' output: AP and AP50 in percent, clamped at 0. */
export function domainEvaluation(domain: string, r: CocoEvalResult): DomainEvaluation {
  return {
    domain,
    ap: Math.max(0, r.stats[0]) * 100,
    ap50: Math.max(0, r.stats[1]) * 100,
    stats: [...r.stats],
    perCategoryAp: { ...r.perCategoryAp },
  };
}

/**
 * COCO bbox evaluation of a safetensors checkpoint on each split, through the ONNX export in
 * onnxruntime-node (5–10× faster than tfjs-wasm here) and the pycocotools port.
 */
export async function evaluateCheckpoint(checkpoint: Buffer, sets: EvalDataset[], opts: { threads?: number } = {}): Promise<DomainEvaluation[]> {
  if (sets.length === 0) return [];
  const { config, tensors } = parseCheckpoint(checkpoint, "model version");
  const detector = await createOnnxDetector(exportOnnx(config, tensors), config, { threads: opts.threads ?? DEFAULT_EVAL_THREADS });
  try {
    const out: DomainEvaluation[] = [];
    for (const set of sets) {
      const detections = await detector.predictDataset(set.dataset);
      out.push(domainEvaluation(set.domain, evaluateCoco(set.dataset, detections)));
    }
    return out;
  } finally {
    await detector.close();
  }
}

/** Bit-for-bit equality of two evaluations' statistics and per-category AP (NaN equals NaN). */
export function sameEvaluation(a: Pick<DomainEvaluation, "stats" | "perCategoryAp">, b: Pick<DomainEvaluation, "stats" | "perCategoryAp">): boolean {
  if (a.stats.length !== b.stats.length || !a.stats.every((v, i) => Object.is(v, b.stats[i]))) return false;
  const ka = Object.keys(a.perCategoryAp).sort();
  const kb = Object.keys(b.perCategoryAp).sort();
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every((k) => Object.is(a.perCategoryAp[Number(k)], b.perCategoryAp[Number(k)]));
}
