/**
 * COCO bbox evaluation, a port of pycocotools `COCOeval` (iouType 'bbox', default params) that
 * reproduces its numbers to the last bits. The rules that matter for equality are kept in the
 * comments next to the code that implements them; docs/metrics.md lists them too.
 *
 * Layout: gts and dts are bucketed by (category, image) with stable counting sorts, and every
 * per-box quantity lives in typed arrays, so the hot loops allocate nothing per box.
 */
import { EvalInputError } from "./errors.js";
import { type CocoDetection, type CocoEvalArrays, type CocoEvalResult, type CocoGt } from "./types.js";

/** numpy.spacing(1): pycocotools adds it to tp+fp. */
const EPS = 2.220446049250313e-16;

/** np.linspace(start, stop, num): start + i*step, last value set to stop (not start + i*0.05). */
function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

export const IOU_THRESHOLDS: Float64Array = linspace(0.5, 0.95, 10);
export const RECALL_THRESHOLDS: Float64Array = linspace(0, 1, 101);
export const MAX_DETS: readonly number[] = [1, 10, 100];
export const AREA_RANGE_LABELS: readonly string[] = ["all", "small", "medium", "large"];
/** Inclusive at both ends: [0, 1e5²], [0, 32²], [32², 96²], [96², 1e5²]. */
export const AREA_RANGES: readonly (readonly [number, number])[] = [
  [0, 1e10],
  [0, 1024],
  [1024, 9216],
  [9216, 1e10],
];

/** numpy's pairwise summation for float64 (add.reduce on a contiguous array); np.mean divides this by n. */
export function pairwiseSum(a: ArrayLike<number>, start = 0, n = a.length - start): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    let r0 = a[start], r1 = a[start + 1], r2 = a[start + 2], r3 = a[start + 3];
    let r4 = a[start + 4], r5 = a[start + 5], r6 = a[start + 6], r7 = a[start + 7];
    let i = 8;
    const end = n - (n % 8);
    for (; i < end; i += 8) {
      const p = start + i;
      r0 += a[p]; r1 += a[p + 1]; r2 += a[p + 2]; r3 += a[p + 3];
      r4 += a[p + 4]; r5 += a[p + 5]; r6 += a[p + 6]; r7 += a[p + 7];
    }
    let res = (r0 + r1 + (r2 + r3)) + (r4 + r5 + (r6 + r7));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** `np.mean(s[s > -1])`, or -1 when nothing is > -1 (pycocotools `_summarize`). */
export function meanDefined(values: ArrayLike<number>): number {
  const kept: number[] = [];
  for (let i = 0; i < values.length; i++) if (values[i] > -1) kept.push(values[i]);
  if (kept.length === 0) return -1;
  return pairwiseSum(kept) / kept.length;
}

function uniqueSorted(ids: number[]): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}

/** Stable counting sort of `items` (already in traversal order) by key in [0, nKeys); key -1 drops the item. */
function bucketByKey(items: Int32Array, keys: Int32Array, nKeys: number): { start: Int32Array; order: Int32Array } {
  const start = new Int32Array(nKeys + 1);
  let kept = 0;
  for (let j = 0; j < items.length; j++) {
    const k = keys[j];
    if (k >= 0) {
      start[k + 1]++;
      kept++;
    }
  }
  for (let k = 0; k < nKeys; k++) start[k + 1] += start[k];
  const fill = start.slice(0, nKeys);
  const order = new Int32Array(kept);
  for (let j = 0; j < items.length; j++) {
    const k = keys[j];
    if (k >= 0) order[fill[k]++] = items[j];
  }
  return { start, order };
}

interface Prepared {
  imgIds: number[];
  catIds: number[];
  /** gts bucketed by key k*nImg+i; gtStart has nCat*nImg+1 offsets into the gt* arrays. */
  gtStart: Int32Array;
  gtBox: Float64Array;
  gtArea: Float64Array;
  gtCrowd: Uint8Array;
  gtId: Float64Array;
  dtStart: Int32Array;
  dtBox: Float64Array;
  dtArea: Float64Array;
  dtScore: Float64Array;
}

function bboxOf(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || v.length !== 4 || !v.every((x) => typeof x === "number" && Number.isFinite(x))) {
    throw new EvalInputError(`${what}: bbox must be [x, y, w, h] with 4 finite numbers, got ${JSON.stringify(v)}`, {
      details: { field: "bbox" },
    });
  }
  return v as number[];
}

/**
 * What `COCO(gt)` + `gt.loadRes(dt)` + `COCOeval._prepare` keep:
 * - images: the unique gt image ids, sorted; categories: the unique gt category ids, sorted;
 * - gts and dts of other images or categories are dropped, a detection on an image absent from
 *   gt.images is an error (loadRes asserts);
 * - gts are gathered image by image (sorted ids), in file order within an image, and looked up by
 *   annotation id (a later duplicate id wins, as the `anns` dict does);
 * - detection area is w*h and ids are 1..N (loadRes); crowd = truthy iscrowd.
 */
function prepare(gt: CocoGt, dt: readonly CocoDetection[]): Prepared {
  const imgIds = uniqueSorted(gt.images.map((im) => im.id));
  const catIds = uniqueSorted(gt.categories.map((c) => c.id));
  const nImg = imgIds.length;
  const nCat = catIds.length;
  const nKeys = nCat * nImg;
  const imgIndex = new Map<number, number>();
  imgIds.forEach((id, i) => imgIndex.set(id, i));
  const catIndex = new Map<number, number>();
  catIds.forEach((id, k) => catIndex.set(id, k));

  const anns = gt.annotations ?? [];
  const nAnn = anns.length;
  const lastById = new Map<number, number>();
  for (let j = 0; j < nAnn; j++) lastById.set(anns[j].id, j);
  const annImg = new Int32Array(nAnn);
  for (let j = 0; j < nAnn; j++) {
    const i = imgIndex.get(anns[j].image_id);
    annImg[j] = i === undefined ? -1 : i;
  }
  // getAnnIds(imgIds, catIds): image by image in sorted order, file order inside an image.
  const byImg = bucketByKey(Int32Array.from({ length: nAnn }, (_, j) => j), annImg, nImg).order;
  const loaded = new Int32Array(byImg.length);
  const loadedKey = new Int32Array(byImg.length);
  for (let p = 0; p < byImg.length; p++) {
    const src = anns[byImg[p]];
    if (!catIndex.has(src.category_id)) {
      loadedKey[p] = -1;
      continue;
    }
    const j = lastById.get(src.id) as number;
    loaded[p] = j;
    const a = anns[j];
    const i = imgIndex.get(a.image_id);
    const k = catIndex.get(a.category_id);
    loadedKey[p] = i === undefined || k === undefined ? -1 : k * nImg + i;
  }
  const g = bucketByKey(loaded, loadedKey, nKeys);
  const nGt = g.order.length;
  const gtBox = new Float64Array(nGt * 4);
  const gtArea = new Float64Array(nGt);
  const gtCrowd = new Uint8Array(nGt);
  const gtId = new Float64Array(nGt);
  for (let p = 0; p < nGt; p++) {
    const j = g.order[p];
    const a = anns[j];
    const b = bboxOf(a.bbox, `ground truth annotation #${j} (id ${a.id})`);
    gtBox[p * 4] = b[0];
    gtBox[p * 4 + 1] = b[1];
    gtBox[p * 4 + 2] = b[2];
    gtBox[p * 4 + 3] = b[3];
    if (typeof a.area !== "number" || !Number.isFinite(a.area)) {
      throw new EvalInputError(`ground truth annotation #${j} (id ${a.id}): area must be a finite number (COCO's area ranges use it)`, {
        details: { record: j, id: a.id, field: "area" },
      });
    }
    gtArea[p] = a.area;
    gtCrowd[p] = a.iscrowd ? 1 : 0;
    gtId[p] = a.id;
  }

  const nDt = dt.length;
  const dtKey = new Int32Array(nDt);
  for (let j = 0; j < nDt; j++) {
    const d = dt[j];
    const i = imgIndex.get(d.image_id);
    if (i === undefined) {
      throw new EvalInputError(
        `detection #${j}: image_id ${d.image_id} is not in the ground truth images (pycocotools refuses such results); drop it or evaluate against the right gt`,
        { details: { record: j, field: "image_id", image_id: d.image_id } },
      );
    }
    const k = catIndex.get(d.category_id);
    // Unknown categories are dropped silently, as getAnnIds(catIds=...) does.
    dtKey[j] = k === undefined ? -1 : k * nImg + i;
  }
  const dd = bucketByKey(Int32Array.from({ length: nDt }, (_, j) => j), dtKey, nKeys);
  const nKept = dd.order.length;
  const dtBox = new Float64Array(nKept * 4);
  const dtArea = new Float64Array(nKept);
  const dtScore = new Float64Array(nKept);
  for (let p = 0; p < nKept; p++) {
    const j = dd.order[p];
    const d = dt[j];
    const b = bboxOf(d.bbox, `detection #${j}`);
    dtBox[p * 4] = b[0];
    dtBox[p * 4 + 1] = b[1];
    dtBox[p * 4 + 2] = b[2];
    dtBox[p * 4 + 3] = b[3];
    dtArea[p] = b[2] * b[3];
    if (typeof d.score !== "number" || !Number.isFinite(d.score)) {
      throw new EvalInputError(`detection #${j}: score must be a finite number, got ${JSON.stringify(d.score)}`, {
        details: { record: j, field: "score" },
      });
    }
    dtScore[p] = d.score;
  }
  return { imgIds, catIds, gtStart: g.start, gtBox, gtArea, gtCrowd, gtId, dtStart: dd.start, dtBox, dtArea, dtScore };
}

/** Grows-only scratch buffers reused across images and categories. */
class Scratch {
  f64 = new Float64Array(0);
  i32 = new Int32Array(0);
  u8 = new Uint8Array(0);
}
function f64(s: Scratch, key: "f64", n: number): Float64Array {
  if (s[key].length < n) s[key] = new Float64Array(Math.max(n, s[key].length * 2));
  return s[key];
}

/**
 * Runs evaluate() + accumulate() and returns pycocotools' precision/recall arrays.
 * Detections with a category absent from gt.categories are dropped; every gt image counts.
 */
export function accumulateCoco(gt: CocoGt, dt: readonly CocoDetection[]): CocoEvalArrays {
  const P = prepare(gt, dt);
  const T = IOU_THRESHOLDS.length;
  const R = RECALL_THRESHOLDS.length;
  const A = AREA_RANGES.length;
  const M = MAX_DETS.length;
  const K = P.catIds.length;
  const nImg = P.imgIds.length;
  const maxDet = MAX_DETS[M - 1];
  const TA = T * A;
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const iouThrs = IOU_THRESHOLDS;
  const recThrs = RECALL_THRESHOLDS;
  const areaLo = new Float64Array(AREA_RANGES.map((r) => r[0]));
  const areaHi = new Float64Array(AREA_RANGES.map((r) => r[1]));

  const sIou = new Scratch();
  let dtOrder = new Int32Array(256);
  let gtIg = new Uint8Array(64);
  let gtPerm = new Int32Array(64);
  let gtMatched = new Uint8Array(64);
  const maxIou = new Float64Array(maxDet);
  const candStart = new Int32Array(maxDet + 1);
  let cand = new Int32Array(1024);

  for (let k = 0; k < K; k++) {
    // Detections of this category kept per image: min(D, maxDet).
    let nCatDt = 0;
    for (let i = 0; i < nImg; i++) {
      const key = k * nImg + i;
      nCatDt += Math.min(P.dtStart[key + 1] - P.dtStart[key], maxDet);
    }
    const scores = new Float64Array(nCatDt);
    const rank = new Uint16Array(nCatDt);
    // flags[pos*TA + a*T + t]: bit 1 = matched to a gt with a non-zero id, bit 2 = ignored.
    const flags = new Uint8Array(nCatDt * TA);
    const npig = new Float64Array(A);
    let pos = 0;

    for (let i = 0; i < nImg; i++) {
      const key = k * nImg + i;
      const g0 = P.gtStart[key];
      const G = P.gtStart[key + 1] - g0;
      const d0 = P.dtStart[key];
      const nD = P.dtStart[key + 1] - d0;
      if (G === 0 && nD === 0) continue;

      // dts by descending score, stable (np.argsort(-score, kind='mergesort')), first maxDet kept.
      if (dtOrder.length < nD) dtOrder = new Int32Array(nD * 2);
      for (let j = 0; j < nD; j++) dtOrder[j] = d0 + j;
      sortByScoreDesc(dtOrder, nD, P.dtScore);
      const D = Math.min(nD, maxDet);

      // bbIou (maskApi.c): iw/ih <= 0 -> 0; union = dA + gA - inter, or dA alone for a crowd gt.
      const ious = f64(sIou, "f64", D * G);
      for (let d = 0; d < D; d++) {
        const p = dtOrder[d] * 4;
        const dx = P.dtBox[p], dy = P.dtBox[p + 1], dw = P.dtBox[p + 2], dh = P.dtBox[p + 3];
        const da = dw * dh;
        let mx = 0;
        for (let gi = 0; gi < G; gi++) {
          const q = (g0 + gi) * 4;
          const gx = P.gtBox[q], gy = P.gtBox[q + 1], gw = P.gtBox[q + 2], gh = P.gtBox[q + 3];
          let v = 0;
          const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
          if (w > 0) {
            const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
            if (h > 0) {
              const inter = w * h;
              v = inter / (P.gtCrowd[g0 + gi] ? da : da + gw * gh - inter);
            }
          }
          ious[d * G + gi] = v;
          if (v > mx) mx = v;
        }
        maxIou[d] = mx;
      }

      if (cand.length < D * G) cand = new Int32Array(D * G * 2);
      if (gtIg.length < G) {
        gtIg = new Uint8Array(G * 2);
        gtPerm = new Int32Array(G * 2);
        gtMatched = new Uint8Array(G * 2);
      }
      for (let a = 0; a < A; a++) {
        const lo = areaLo[a], hi = areaHi[a];
        // gts: ignored = crowd or area field out of range; stable sort puts ignored last.
        let n = 0;
        for (let gi = 0; gi < G; gi++) {
          const ar = P.gtArea[g0 + gi];
          if (!(P.gtCrowd[g0 + gi] || ar < lo || ar > hi)) gtPerm[n++] = gi;
        }
        npig[a] += n;
        const nReg = n;
        for (let gi = 0; gi < G; gi++) {
          const ar = P.gtArea[g0 + gi];
          if (P.gtCrowd[g0 + gi] || ar < lo || ar > hi) gtPerm[n++] = gi;
        }
        for (let s = 0; s < G; s++) gtIg[s] = s < nReg ? 0 : 1;

        // Per det, the gts it overlaps, in sorted order: a gt with IoU 0 can never match (the
        // running best starts at >= 0.5), so skipping it changes nothing, including the break.
        let nc = 0;
        for (let d = 0; d < D; d++) {
          candStart[d] = nc;
          const row = d * G;
          for (let s = 0; s < G; s++) if (ious[row + gtPerm[s]] > 0) cand[nc++] = s;
        }
        candStart[D] = nc;
        for (let t = 0; t < T; t++) {
          gtMatched.fill(0, 0, G);
          const thr = Math.min(iouThrs[t], 1 - 1e-10);
          for (let d = 0; d < D; d++) {
            // Greedy: the best starts at the threshold, so IoU == threshold matches, and on
            // equal IoU the later gt (in sorted order) wins; stop at the first ignored gt once a
            // regular gt is matched; a matched non-crowd gt is skipped.
            let best = thr;
            let m = -1;
            const row = d * G;
            if (maxIou[d] >= thr) {
              for (let c = candStart[d], ce = candStart[d + 1]; c < ce; c++) {
                const s = cand[c];
                const gi = gtPerm[s];
                if (gtMatched[s] && !P.gtCrowd[g0 + gi]) continue;
                if (m > -1 && gtIg[m] === 0 && gtIg[s] === 1) break;
                const v = ious[row + gi];
                if (v < best) continue;
                best = v;
                m = s;
              }
            }
            let f = 0;
            let matchedId = 0;
            if (m !== -1) {
              gtMatched[m] = 1;
              matchedId = P.gtId[g0 + gtPerm[m]];
              if (gtIg[m]) f |= 2;
            }
            if (matchedId !== 0) f |= 1;
            else {
              // dtm == 0 (unmatched, or matched to a gt with id 0) and area out of range -> ignored.
              const ar = P.dtArea[dtOrder[d]];
              if (ar < lo || ar > hi) f |= 2;
            }
            flags[(pos + d) * TA + a * T + t] = f;
          }
        }
      }
      for (let d = 0; d < D; d++) {
        scores[pos + d] = P.dtScore[dtOrder[d]];
        rank[pos + d] = d;
      }
      pos += D;
    }

    // accumulate(): images concatenated in ascending id order, then a stable sort by descending
    // score (ties keep image order, then rank). A subset keeps the same relative order, so one
    // sort serves every maxDets.
    const order = Int32Array.from({ length: nCatDt }, (_, j) => j);
    sortByScoreDesc(order, nCatDt, scores);
    const planes = new Uint8Array(nCatDt * TA);
    const rc = new Float64Array(nCatDt);
    const pr = new Float64Array(nCatDt);
    for (let mi = 0; mi < M; mi++) {
      const md = MAX_DETS[mi];
      // Gather the selected dets' flags into one sequential plane per (a, t).
      let nd = 0;
      for (let j = 0; j < nCatDt; j++) {
        const src = order[j];
        if (rank[src] >= md) continue;
        const base = src * TA;
        for (let c = 0; c < TA; c++) planes[c * nCatDt + nd] = flags[base + c];
        nd++;
      }
      for (let a = 0; a < A; a++) {
        const np = npig[a];
        if (np === 0) continue;
        for (let t = 0; t < T; t++) {
          const plane = (a * T + t) * nCatDt;
          // Only positions where tp grows matter: for r > 0 searchsorted lands on one, later
          // fp/ignored positions never exceed the tp position before them, and at r = 0 a
          // leading non-tp position has precision 0. So rc/pr are kept at tp positions only,
          // with exactly the values pycocotools computes there.
          let tp = 0;
          let fp = 0;
          let ntp = 0;
          for (let j = 0; j < nd; j++) {
            const f = planes[plane + j];
            if (f === 1) {
              tp++;
              rc[ntp] = tp / np;
              pr[ntp] = tp / (fp + tp + EPS);
              ntp++;
            } else if (f === 0) fp++;
          }
          recall[((t * K + k) * A + a) * M + mi] = nd > 0 ? tp / np : 0;
          for (let j = ntp - 1; j > 0; j--) if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
          // np.searchsorted(rc, recThrs, side='left'); past the end the rest stay 0.
          let j = 0;
          for (let r = 0; r < R; r++) {
            const thr = recThrs[r];
            while (j < ntp && rc[j] < thr) j++;
            precision[(((t * R + r) * K + k) * A + a) * M + mi] = j < ntp ? pr[j] : 0;
          }
        }
      }
    }
  }
  return {
    iouThrs,
    recThrs,
    catIds: P.catIds,
    imgIds: P.imgIds,
    areaRngLbl: AREA_RANGE_LABELS,
    maxDets: MAX_DETS,
    precision,
    recall,
    counts: [T, R, K, A, M],
  };
}

/** Stable sort of idx[0..n) by descending key[idx]; ties keep their current order. */
function sortByScoreDesc(idx: Int32Array, n: number, key: Float64Array): void {
  if (n < 2) return;
  if (n <= 32) {
    for (let i = 1; i < n; i++) {
      const v = idx[i];
      const kv = key[v];
      let j = i - 1;
      while (j >= 0 && key[idx[j]] < kv) {
        idx[j + 1] = idx[j];
        j--;
      }
      idx[j + 1] = v;
    }
    return;
  }
  const pos = new Int32Array(n);
  const view = idx.subarray(0, n);
  // Position tie-break keeps it stable whatever the engine's sort does.
  for (let i = 0; i < n; i++) pos[i] = i;
  const keyed = Array.from(pos);
  keyed.sort((x, y) => key[view[y]] - key[view[x]] || x - y);
  const copy = view.slice();
  for (let i = 0; i < n; i++) view[i] = copy[keyed[i]];
}

/** pycocotools `summarize()` for bbox: the 12 stats. */
export function summarizeCoco(e: CocoEvalArrays): number[] {
  const [T, R, K, A, M] = e.counts;
  const mIdx = (md: number) => e.maxDets.indexOf(md);
  const aIdx = (lbl: string) => e.areaRngLbl.indexOf(lbl);
  const ap = (iouThr: number | null, area: string, md: number): number => {
    const a = aIdx(area);
    const m = mIdx(md);
    const ts: number[] = [];
    for (let t = 0; t < T; t++) if (iouThr === null || e.iouThrs[t] === iouThr) ts.push(t);
    const vals: number[] = [];
    for (const t of ts) for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) vals.push(e.precision[(((t * R + r) * K + k) * A + a) * M + m]);
    return meanDefined(vals);
  };
  const ar = (area: string, md: number): number => {
    const a = aIdx(area);
    const m = mIdx(md);
    const vals: number[] = [];
    for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) vals.push(e.recall[((t * K + k) * A + a) * M + m]);
    return meanDefined(vals);
  };
  const last = e.maxDets[e.maxDets.length - 1];
  return [
    ap(null, "all", last),
    ap(0.5, "all", last),
    ap(0.75, "all", last),
    ap(null, "small", last),
    ap(null, "medium", last),
    ap(null, "large", last),
    ar("all", e.maxDets[0]),
    ar("all", e.maxDets[1]),
    ar("all", last),
    ar("small", last),
    ar("medium", last),
    ar("large", last),
  ];
}

/** AP@[.5:.95], area all, maxDets 100 for each category: mean of precision[:, :, k, 0, -1] over entries > -1. */
export function perCategoryAp(e: CocoEvalArrays): Record<number, number> {
  const [T, R, K, A, M] = e.counts;
  const out: Record<number, number> = {};
  const vals = new Float64Array(T * R);
  for (let k = 0; k < K; k++) {
    let n = 0;
    for (let t = 0; t < T; t++) for (let r = 0; r < R; r++) vals[n++] = e.precision[(((t * R + r) * K + k) * A + 0) * M + (M - 1)];
    out[e.catIds[k]] = meanDefined(vals);
  }
  return out;
}

/**
 * COCO bbox evaluation with pycocotools' default parameters: the 12 summary stats and the
 * per-category AP. Equal to `COCOeval(gt, gt.loadRes(dt), 'bbox')` to the last bits.
 * An empty `dt` is allowed (pycocotools' loadRes would raise): every defined entry is then 0.
 */
export function evaluateCoco(gt: CocoGt, dt: CocoDetection[]): CocoEvalResult {
  const e = accumulateCoco(gt, dt);
  return { stats: summarizeCoco(e), perCategoryAp: perCategoryAp(e) };
}
