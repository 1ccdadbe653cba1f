/**
 * The epoch rule: train to convergence, not to a budget. A learning curve is held-out (validation)
 * COCO AP after every epoch of one long run (`medfcl train --eval-data VAL --curve FILE --epochs 30`).
 * A domain has converged at the first epoch whose smoothed AP is within `minGain` AP of the best
 * smoothed AP of the whole curve: later epochs add less than that. The smoothing is a centred
 * moving average over `window` epochs, because a validation split of ~100 images moves by ±2 AP
 * from one epoch to the next (a rule on epoch-to-epoch gains stops at the first dip). A curve whose
 * best smoothed value is its last one may still be rising: it is flagged. An
 * experiment trains every training job of every paradigm for the largest converged epoch over its
 * domains, so the rule is the same for each paradigm and no domain is cut short.
 */
import { readFileSync } from "node:fs";
import { ErrorCode } from "../services/errors/index.js";
import { ExperimentError } from "./errors.js";

export interface EpochRule {
  /** Epochs in the centred moving average (odd). */
  window: number;
  /** Converged within this many AP of the best smoothed value. */
  minGain: number;
}

export function defaultEpochRule(): EpochRule {
  return { window: 5, minGain: 1 };
}

export interface CurvePoint {
  epoch: number;
  ap: number;
}

export interface Convergence {
  /** The converged epoch. */
  epoch: number;
  /** False when the best smoothed AP is the curve's last smoothed value: it may still be rising. */
  converged: boolean;
  /** The best smoothed AP, and the epoch it was reached. */
  best: number;
  bestEpoch: number;
  /** The smoothed curve, one value per epoch (null where the window does not fit). */
  smoothed: (number | null)[];
}

/** Centred moving average; null where the window does not fit inside the curve. */
export function movingAverage(values: number[], window: number): (number | null)[] {
  const half = Math.floor(window / 2);
  return values.map((_, i) => {
    if (i - half < 0 || i + half >= values.length) return null;
    let s = 0;
    for (let k = i - half; k <= i + half; k++) s += values[k];
    return s / (2 * half + 1);
  });
}

export function convergenceEpoch(curve: CurvePoint[], rule: EpochRule = defaultEpochRule()): Convergence {
  if (curve.length === 0) throw new ExperimentError("a learning curve needs at least one epoch", { code: ErrorCode.InvalidArgument });
  const points = [...curve].sort((a, b) => a.epoch - b.epoch);
  points.forEach((p, i) => {
    if (p.epoch !== i + 1 || !Number.isFinite(p.ap)) {
      throw new ExperimentError(`a learning curve needs epochs 1, 2, 3, ... with a finite AP each; entry ${i} is ${JSON.stringify(p)}`, { code: ErrorCode.InvalidArgument });
    }
  });
  if (!Number.isInteger(rule.window) || rule.window < 1 || rule.window % 2 === 0) throw new ExperimentError(`the smoothing window must be an odd whole number, got ${rule.window}`, { code: ErrorCode.InvalidArgument });
  // A curve shorter than the window is smoothed over what there is.
  const window = Math.min(rule.window, points.length % 2 ? points.length : points.length - 1);
  const smoothed = movingAverage(points.map((p) => p.ap), window);
  let best = -Infinity;
  let bestEpoch = 0;
  smoothed.forEach((v, i) => {
    if (v !== null && v > best) {
      best = v;
      bestEpoch = points[i].epoch;
    }
  });
  const first = smoothed.findIndex((v) => v !== null && v >= best - rule.minGain);
  const lastSmoothed = points.length - Math.floor(window / 2);
  return { epoch: points[first].epoch, converged: bestEpoch < lastSmoothed, best, bestEpoch, smoothed };
}

/** Reads a curve file written by `medfcl train --curve`. */
export function readCurve(path: string): CurvePoint[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ExperimentError(`cannot read the learning curve ${path}: ${(err as Error).message}`, { code: ErrorCode.NotFound, details: { file: path }, cause: err });
  }
  const curve = (json as { curve?: unknown }).curve;
  if (!Array.isArray(curve)) throw new ExperimentError(`${path} has no "curve" array; write it with \`medfcl train --eval-data DIR --curve FILE\``, { code: ErrorCode.InvalidArgument, details: { file: path } });
  return curve.map((p: { epoch?: unknown; ap?: unknown }) => ({ epoch: Number(p.epoch), ap: Number(p.ap) }));
}
