import { strict as assert } from "node:assert";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  evaluateCoco,
  formatCocoSummary,
  formatFixed3,
  IOU_THRESHOLDS,
  pairwiseSum,
  parseCocoGt,
  parseDetections,
  RECALL_THRESHOLDS,
  type CocoDetection,
  type CocoGt,
} from "../../../services/eval/index.js";
import { EvalInputError } from "../../../services/eval/errors.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures/coco-eval/public");
const readJson = (p: string): unknown => JSON.parse(readFileSync(p, "utf8"));

function close(actual: number, expected: number, what: string): void {
  if (expected === -1) assert.equal(actual, -1, `${what}: expected exactly -1, got ${actual}`);
  else assert.ok(Math.abs(actual - expected) <= 1e-9, `${what}: expected ${expected}, got ${actual}`);
}

function gtOf(anns: { image_id?: number; category_id?: number; bbox: number[]; area?: number; iscrowd?: number }[], images = [1], cats = [1]): CocoGt {
  return {
    images: images.map((id) => ({ id })),
    categories: cats.map((id) => ({ id })),
    annotations: anns.map((a, j) => ({
      id: j + 1,
      image_id: a.image_id ?? 1,
      category_id: a.category_id ?? 1,
      bbox: a.bbox,
      area: a.area ?? a.bbox[2] * a.bbox[3],
      iscrowd: a.iscrowd ?? 0,
    })),
  };
}
const det = (bbox: [number, number, number, number], score: number, image_id = 1, category_id = 1): CocoDetection => ({ image_id, category_id, bbox, score });

describe("coco - pycocotools fixtures", () => {
  const cases = readdirSync(FIXTURES).filter((c) => c.startsWith("case_")).sort();
  it("coco - the fixture set is present", () => assert.ok(cases.length >= 40));
  for (const c of cases) {
    it(`coco - ${c} matches pycocotools (12 stats and per-category AP, 1e-9)`, () => {
      const gt = parseCocoGt(readJson(join(FIXTURES, c, "gt.json")), `${c}/gt.json`);
      const dt = parseDetections(readJson(join(FIXTURES, c, "dt.json")), `${c}/dt.json`);
      const expected = readJson(join(FIXTURES, c, "expected.json")) as { stats: number[]; per_category_ap: Record<string, number> };
      const r = evaluateCoco(gt, dt);
      assert.equal(r.stats.length, 12);
      expected.stats.forEach((v, i) => close(r.stats[i], v, `${c} stats[${i}]`));
      assert.deepEqual(Object.keys(r.perCategoryAp).sort(), Object.keys(expected.per_category_ap).sort());
      for (const [id, v] of Object.entries(expected.per_category_ap)) close(r.perCategoryAp[Number(id)], v, `${c} AP cat ${id}`);
    });
  }
});

describe("coco - rules", () => {
  it("coco - thresholds come from numpy.linspace, not decimal literals", () => {
    assert.equal(IOU_THRESHOLDS.length, 10);
    assert.equal(IOU_THRESHOLDS[5], 0.75);
    assert.equal(IOU_THRESHOLDS[8], 0.8999999999999999);
    assert.equal(IOU_THRESHOLDS[9], 0.95);
    assert.equal(RECALL_THRESHOLDS.length, 101);
    assert.equal(RECALL_THRESHOLDS[70], 0.7000000000000001);
    assert.equal(RECALL_THRESHOLDS[100], 1);
  });

  it("coco - one perfect detection gives AP 1 - eps, as pycocotools does", () => {
    const r = evaluateCoco(gtOf([{ bbox: [10, 10, 50, 50] }]), [det([10, 10, 50, 50], 0.9)]);
    assert.equal(r.stats[0], 0.9999999999999998);
    assert.equal(r.stats[8], 1);
    assert.equal(r.stats[3], -1); // no small gt
    assert.equal(r.stats[4], 0.9999999999999998); // 2500 px² is medium
  });

  it("coco - an fp ranked above the tp halves precision at full recall", () => {
    const gt = gtOf([{ bbox: [0, 0, 100, 100] }]);
    const r = evaluateCoco(gt, [det([300, 300, 100, 100], 0.9), det([0, 0, 100, 100], 0.8)]);
    // pr at the tp is 1/(2+eps); every recall threshold samples it.
    assert.equal(r.stats[0], 1 / (2 + 2.220446049250313e-16));
    assert.equal(r.stats[6], 0); // maxDets=1 keeps only the fp
  });

  it("coco - crowd gts match several detections, which are then ignored", () => {
    const gt = gtOf([{ bbox: [0, 0, 200, 200], iscrowd: 1 }, { bbox: [300, 300, 50, 50] }]);
    const inside = [det([10, 10, 40, 40], 0.95), det([60, 60, 40, 40], 0.94), det([120, 120, 40, 40], 0.93)];
    const r = evaluateCoco(gt, [...inside, det([300, 300, 50, 50], 0.5)]);
    // The three dets inside the crowd region (IoU = det area / det area = 1) are ignored, so the
    // tp is the only counted detection.
    assert.equal(r.stats[0], 0.9999999999999998);
    const without = evaluateCoco(gtOf([{ bbox: [300, 300, 50, 50] }]), [...inside, det([300, 300, 50, 50], 0.5)]);
    assert.ok(without.stats[0] < 0.3, "the same dets without the crowd gt are false positives");
  });

  it("coco - crowd IoU uses the detection area as the union", () => {
    // det 100x100 overlapping a crowd gt on a 50x100 strip: IoU = 5000/10000 = 0.5 (matches at .5 only).
    const gt = gtOf([{ bbox: [50, 0, 1000, 100], iscrowd: 1 }, { bbox: [500, 500, 10, 10] }]);
    const r = evaluateCoco(gt, [det([0, 0, 100, 100], 0.9), det([500, 500, 10, 10], 0.1)]);
    // At IoU .5 the first det is ignored (AP 1-eps), at every other threshold it is an fp ranked first.
    const half = 1 / (2 + 2.220446049250313e-16);
    // np.mean of 101 copies of 1/(1+eps) is 0.9999999999999999 (pairwise sum, then / 101).
    assert.equal(r.stats[1], 0.9999999999999999);
    assert.equal(r.stats[2], half);
  });

  it("coco - IoU exactly equal to the threshold matches", () => {
    // gt 0..100, det 0..75 (same height): IoU = 7500/10000 = 0.75.
    const r = evaluateCoco(gtOf([{ bbox: [0, 0, 100, 100] }]), [det([0, 0, 75, 100], 0.9)]);
    const precAt = (t: number) => (IOU_THRESHOLDS[t] <= 0.75 ? 1 : 0);
    assert.equal(r.stats[2], 0.9999999999999999); // matched at .75 (np.mean of 101 × 1/(1+eps))
    const expectedAp = [...IOU_THRESHOLDS.keys()].filter((t) => precAt(t) === 1).length / 10;
    assert.ok(Math.abs(r.stats[0] - expectedAp) < 1e-12);
  });

  it("coco - maxDets applies per image and per category", () => {
    const gt = gtOf(
      [
        { bbox: [0, 0, 50, 50], category_id: 1 },
        { bbox: [0, 0, 50, 50], category_id: 2 },
      ],
      [1],
      [1, 2],
    );
    const r = evaluateCoco(gt, [det([0, 0, 50, 50], 0.9, 1, 1), det([0, 0, 50, 50], 0.8, 1, 2)]);
    assert.equal(r.stats[6], 1); // AR@1: each category keeps its own top detection
  });

  it("coco - gt area field (not w*h) picks the area range; detections use w*h", () => {
    const gt = gtOf([{ bbox: [0, 0, 10, 10], area: 5000 }]);
    const r = evaluateCoco(gt, [det([0, 0, 10, 10], 0.9)]);
    assert.equal(r.stats[3], -1); // no small gt although the box is 10x10
    // The det (area 100) is matched to the medium gt, so it counts there.
    assert.equal(r.stats[4], 0.9999999999999998);
  });

  it("coco - categories without gt are -1, categories without detections are 0", () => {
    const gt = gtOf([{ bbox: [0, 0, 50, 50], category_id: 1 }], [1, 2], [1, 2, 3]);
    const r = evaluateCoco(gt, [det([0, 0, 50, 50], 0.9, 2, 2)]);
    assert.deepEqual(r.perCategoryAp, { 1: 0, 2: -1, 3: -1 });
    assert.equal(r.stats[0], 0);
  });

  it("coco - detections of unknown categories are dropped; unknown images are an error", () => {
    const gt = gtOf([{ bbox: [0, 0, 50, 50] }]);
    const a = evaluateCoco(gt, [det([0, 0, 50, 50], 0.9), det([0, 0, 50, 50], 0.99, 1, 42)]);
    assert.equal(a.stats[0], 0.9999999999999998);
    assert.throws(() => evaluateCoco(gt, [det([0, 0, 50, 50], 0.9, 7)]), (e: unknown) => e instanceof EvalInputError && /image_id 7/.test(e.message));
  });

  it("coco - no ground truth at all gives -1 everywhere", () => {
    const r = evaluateCoco({ images: [{ id: 1 }], annotations: [], categories: [{ id: 1 }] }, [det([0, 0, 5, 5], 0.5)]);
    assert.deepEqual(r.stats, new Array(12).fill(-1));
  });
});

describe("coco - io", () => {
  it("coco - bad records are reported with file, index and field", () => {
    assert.throws(
      () => parseDetections([{ image_id: 1, category_id: 1, bbox: [0, 0, 1], score: 0.5 }], "dt.json"),
      (e: unknown) => e instanceof EvalInputError && e.message.includes("dt.json") && e.message.includes("[0]") && e.message.includes("bbox"),
    );
    assert.throws(
      () => parseCocoGt({ images: [{ id: 1 }], categories: [{ id: 1 }], annotations: [{ id: 9, image_id: 1, category_id: 1, bbox: [0, 0, 1, 1] }] }, "gt.json"),
      (e: unknown) => e instanceof EvalInputError && e.message.includes("gt.json") && e.message.includes("annotations[0] (id 9)") && e.message.includes("area"),
    );
  });

  it("coco - pairwise summation matches numpy's add.reduce", () => {
    const a = Array.from({ length: 1010 }, (_, i) => (((i * 7919) % 1013) / 1013) ** 3 * 10 ** ((i % 7) - 3));
    // Value printed by numpy 2.4 `np.add.reduce(a)`; a plain left-to-right sum gives 39997.16574634238.
    assert.equal(pairwiseSum(a), 39997.1657463424);
  });

  it("coco - summary prints like pycocotools, rounding ties to even", () => {
    assert.equal(formatFixed3(0.0625), "0.062");
    assert.equal(formatFixed3(0.1875), "0.188");
    assert.equal(formatFixed3(-1), "-1.000");
    const lines = formatCocoSummary([0.5, 0.6, 0.7, -1, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]).split("\n");
    assert.equal(lines.length, 12);
    assert.equal(lines[0], " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.500");
    assert.equal(lines[3], " Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = -1.000");
    assert.equal(lines[6], " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.300");
  });
});
