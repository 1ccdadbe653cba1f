import type { Locations } from "../tfjs/model.js";
import type { ModelConfig } from "../core/types.js";

/** Dense training targets for one batch (all Float32, flattened row-major). */
export interface BatchTargets {
  batch: number;
  n: number;
  m: number;
  /** [B, N, M] 1 where a positive location meets a token of its class name. */
  tokenTargets: Float32Array;
  /** [B, N] 1 for positive (foreground) locations. */
  positive: Float32Array;
  /** [B, N, 4] l, t, r, b target distances (px) at positives, 0 elsewhere. */
  boxes: Float32Array;
  /** [B, N] centerness target at positives. */
  centerness: Float32Array;
  numPositive: number;
}

export interface SampleTargetInput {
  /** n*4 x1,y1,x2,y2 in model pixels. */
  boxes: Float32Array;
  labels: Int32Array;
  /** Token positions of each category's name in this sample's caption. */
  spans: Map<number, number[]>;
}

/**
 * FCOS assignment with center sampling: a location is positive for a box when it lies inside the
 * box and within `centerRadius·stride` of its centre, and the box's largest l/t/r/b distance falls
 * in the location's level range; among several, the smallest box wins.
 */
export function assignTargets(cfg: ModelConfig, loc: Locations, samples: SampleTargetInput[], m: number): BatchTargets {
  const n = loc.x.length;
  const b = samples.length;
  const tokenTargets = new Float32Array(b * n * m);
  const positive = new Float32Array(b * n);
  const boxes = new Float32Array(b * n * 4);
  const centerness = new Float32Array(b * n);
  let numPositive = 0;
  const bounds = cfg.scaleBounds;
  samples.forEach((s, bi) => {
    const g = s.labels.length;
    for (let i = 0; i < n; i++) {
      const px = loc.x[i];
      const py = loc.y[i];
      const st = loc.stride[i];
      const lo = bounds[loc.level[i]];
      const hi = bounds[loc.level[i] + 1];
      let best = -1;
      let bestArea = Infinity;
      for (let k = 0; k < g; k++) {
        const x1 = s.boxes[4 * k];
        const y1 = s.boxes[4 * k + 1];
        const x2 = s.boxes[4 * k + 2];
        const y2 = s.boxes[4 * k + 3];
        const l = px - x1;
        const t = py - y1;
        const r = x2 - px;
        const bt = y2 - py;
        if (Math.min(l, t, r, bt) <= 0) continue;
        const cx = (x1 + x2) / 2;
        const cy = (y1 + y2) / 2;
        const rad = cfg.centerRadius * st;
        if (Math.abs(px - cx) > rad || Math.abs(py - cy) > rad) continue;
        const mx = Math.max(l, t, r, bt);
        if (mx <= lo || mx > hi) continue;
        const area = (x2 - x1) * (y2 - y1);
        if (area < bestArea) {
          bestArea = area;
          best = k;
        }
      }
      if (best < 0) continue;
      const span = s.spans.get(s.labels[best]);
      if (!span) continue;
      const o = bi * n + i;
      positive[o] = 1;
      numPositive++;
      const l = px - s.boxes[4 * best];
      const t = py - s.boxes[4 * best + 1];
      const r = s.boxes[4 * best + 2] - px;
      const bt = s.boxes[4 * best + 3] - py;
      boxes.set([l, t, r, bt], 4 * o);
      centerness[o] = Math.sqrt((Math.min(l, r) / Math.max(l, r)) * (Math.min(t, bt) / Math.max(t, bt)));
      for (const tok of span) tokenTargets[o * m + tok] = 1;
    }
  });
  return { batch: b, n, m, tokenTargets, positive, boxes, centerness, numPositive };
}
