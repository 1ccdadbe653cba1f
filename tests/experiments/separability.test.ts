/**
 * `experiment separability`: the pure measures on vectors and pixels whose answer is known, then the
 * command end to end on a hand-made suite of two "hospitals".
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { backgroundPixels, lesionPixels, pairSeparability, separabilityAgainstTransfer, type SeparabilityResult } from "../../experiments/index.js";
import { mulberry32, type Sample } from "../../services/data/index.js";
import { POLYP_PROMPT, writeDataset, type FixtureImage } from "../services/data/helpers.js";
import { tempDir } from "../helpers/temp.js";

const root = new URL("../..", import.meta.url).pathname;

function cloud(n: number, centre: number[], spread: number, seed: number): Float32Array[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, () => Float32Array.from(centre, (c) => c + (rng() - 0.5) * 2 * spread));
}

/** A size×size black sample with one white box. */
function boxSample(size: number, box: [number, number, number, number]): Sample {
  const pixels = new Float32Array(size * size * 3);
  for (let y = box[1]; y < box[3]; y++) for (let x = box[0]; x < box[2]; x++) pixels.fill(1, (y * size + x) * 3, (y * size + x) * 3 + 3);
  return { imageId: 1, size, pixels, boxes: Float32Array.from(box), labels: Int32Array.from([1]), transform: { scale: 1, padX: 0, padY: 0, flipped: false, origWidth: size, origHeight: size, size } };
}

describe("experiment separability", () => {
  it("separability - two far clouds are fully separable and far; one cloud split in two is neither", () => {
    const far = pairSeparability(cloud(30, [0, 0, 0], 1, 1), cloud(30, [10, 0, 0], 1, 2));
    assert.equal(far.accuracy, 100);
    assert.ok(far.distance > 5, `distance ${far.distance}`);
    const same = cloud(60, [0, 0, 0], 1, 3);
    const near = pairSeparability(same.slice(0, 30), same.slice(30));
    assert.ok(near.distance < 0.5, `distance ${near.distance}`);
    // Leave-one-out: a point is never scored against a centroid it helped make, so chance is ≤ 50 %.
    assert.ok(near.accuracy <= 60, `accuracy ${near.accuracy}`);
    assert.throws(() => pairSeparability(same.slice(0, 1), same.slice(1)), /at least 2 embeddings per domain/);
  });

  it("separability - the background view blanks the box and its margin with the colour around it; the lesion view is the box", () => {
    const s = boxSample(32, [8, 8, 24, 24]);
    const bg = backgroundPixels(s);
    assert.equal(Math.max(...bg), 0, "the white box is filled with the black around it");
    const lesion = lesionPixels(s);
    const centre = lesion[(16 * 32 + 16) * 3];
    assert.equal(centre, 1);
    const meanValue = lesion.reduce((a, v) => a + v, 0) / lesion.length;
    assert.ok(meanValue > 0.9, `the crop is the white box (mean ${meanValue})`);
  });

  it("separability - each view's distances are ranked against a transfer matrix over the shared off-diagonal cells", () => {
    const m = (d: number) => ({ distance: d, accuracy: 50 });
    const r: SeparabilityResult = {
      dataRoot: "/x",
      model: "nano",
      inputSize: 64,
      seed: 1,
      domains: [{ name: "a", split: "a/train", images: 2 }, { name: "b", split: "b/train", images: 2 }, { name: "c", split: "c/test", images: 2 }],
      views: {
        frame: [[null, m(1), m(2)], [m(1), null, m(3)], [m(2), m(3), null]],
        background: [[null, m(3), m(2)], [m(3), null, m(1)], [m(2), m(1), null]],
        lesion: [[null, m(1), m(1)], [m(1), null, m(1)], [m(1), m(1), null]],
      },
    };
    // Transfer falls with the frame distance: a→b 60, a→c 50, b→a 60, b→c 40.
    const matrix = { train: ["A", "b"], test: ["A", "b", "c"], ap: [[70, 60, 50], [60, 80, 40]] };
    const rows = separabilityAgainstTransfer(r, matrix, { a: "A" });
    assert.deepEqual(rows.map((x) => x.cells), [4, 4, 4]);
    assert.ok(Math.abs(rows[0].rho + 1) < 1e-9, `frame ρ ${rows[0].rho}`);
    assert.ok(rows[1].rho > 0, `background ρ ${rows[1].rho}`);
    assert.ok(Number.isNaN(rows[2].rho), "equal distances rank nothing");
    assert.throws(() => separabilityAgainstTransfer(r, matrix), /shares 1 off-diagonal cell/);
  });

  it("separability - the command measures a hand-made suite of three hospitals, prints the table and the ranks, and writes JSON", { timeout: 300_000 }, async () => {
    const dir = tempDir("medfcl-separability-");
    const suite = join(dir, "suite");
    // Box sides vary within a hospital, so no view is without spread.
    const images = (side: number): FixtureImage[] =>
      Array.from({ length: 6 }, (_, i) => ({ file: `images/${i}.png`, width: 64, height: 48, format: "png", boxes: [[4 + i, 4, side + 2 * i, side + i]] }));
    await writeDataset(join(suite, "small", "train"), images(8));
    await writeDataset(join(suite, "mid", "train"), images(18));
    await writeDataset(join(suite, "large", "train"), images(30));
    const domain = (name: string) => ({ name, task: "polyp", role: "train", prompt: POLYP_PROMPT, splits: { train: `${name}/train`, test: `${name}/train` }, counts: { train: 6, test: 6 } });
    writeFileSync(join(suite, "suite.json"), JSON.stringify({ suite: "polyp", seed: 0, scale: "real", domains: [domain("small"), domain("mid"), domain("large")] }));
    writeFileSync(join(dir, "matrix.json"), JSON.stringify({ train: ["small", "mid", "large"], test: ["small", "mid", "large"], ap: [[50, 30, 10], [30, 55, 30], [20, 40, 60]] }));
    const out = join(dir, "sep.json");
    const r = spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", "experiment", "separability", "--data-root", suite, "--model", "nano", "--per-domain", "5", "--matrix", join(dir, "matrix.json"), "--json", out], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, MEDFCL_LOG_PRETTY: "0" },
    });
    assert.equal(r.status, 0, r.stderr.slice(-3000));
    for (const pair of ["small ↔ mid", "small ↔ large", "mid ↔ large"]) assert.match(r.stdout, new RegExp(`\\| ${pair} \\| [\\d.]+ \\| [\\d.]+ \\| [\\d.]+ \\| [\\d.]+ \\| [\\d.]+ \\| [\\d.]+ \\|`));
    assert.match(r.stdout, /- lesion: ρ = -?[\d.]+ over 6 cells/);
    const saved = JSON.parse(readFileSync(out, "utf8")) as SeparabilityResult;
    assert.deepEqual(saved.domains.map((d) => [d.name, d.images]), [["small", 5], ["mid", 5], ["large", 5]]);
    for (const view of ["frame", "background", "lesion"] as const) {
      const v = saved.views[view];
      assert.equal(v[0][0], null);
      assert.deepEqual(v[0][1], v[1][0], `${view} is symmetric`);
      assert.ok(v[0][1]!.accuracy >= 0 && v[0][1]!.accuracy <= 100);
    }
    // Every hospital is black around its white boxes: blanked, their backgrounds are one image, and
    // telling them apart is a guess; their lesions are not.
    assert.equal(saved.views.background[0][2]!.distance, 0);
    assert.equal(saved.views.background[0][2]!.accuracy, 50);
    assert.ok(saved.views.frame[0][2]!.distance > 0);
  });
});
