// COCO bbox evaluation speed on synthetic workloads (services/eval/synthetic.ts), with
// pycocotools side by side when `python3 -c 'import pycocotools'` works on this machine.
// Run: npx tsx bench/eval.ts [--quick]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { evaluateCoco, syntheticCocoWorkload } from "../services/eval/index.js";

const quick = process.argv.includes("--quick");
const sizes = [
  { images: 500, detsPerImage: 100, gtsPerImage: 7, categories: 5 },
  { images: 2000, detsPerImage: 100, gtsPerImage: 7, categories: 5 },
  { images: 5000, detsPerImage: 20, gtsPerImage: 7, categories: 5 },
  { images: 5000, detsPerImage: 100, gtsPerImage: 7, categories: 1 },
  { images: 5000, detsPerImage: 100, gtsPerImage: 7, categories: 5 },
  { images: 5000, detsPerImage: 100, gtsPerImage: 7, categories: 80 },
].slice(0, quick ? 2 : undefined);

const hasPycocotools = spawnSync("python3", ["-c", "import pycocotools"], { stdio: "ignore" }).status === 0;

const PY = `
import json, sys, time, contextlib, io
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(sys.argv[1]); dt = gt.loadRes(sys.argv[2])
    t0 = time.perf_counter()
    E = COCOeval(gt, dt, 'bbox'); E.evaluate(); E.accumulate(); E.summarize()
    t = time.perf_counter() - t0
print(json.dumps({"seconds": t, "stats": list(E.stats)}))
`;

/** Median wall and CPU (user+system) milliseconds; CPU time is steadier on a shared machine. */
function timeIt(fn: () => void, reps: number): { wall: number; cpu: number } {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { wall: med(wall), cpu: med(cpu) };
}

// Warm-up so the first row does not pay for JIT compilation.
{
  const w = syntheticCocoWorkload({ images: 300, detsPerImage: 100, gtsPerImage: 7, categories: 5, seed: 1 });
  evaluateCoco(w.gt, w.dt);
  evaluateCoco(w.gt, w.dt);
}

const rows: string[][] = [];
for (const s of sizes) {
  const { gt, dt } = syntheticCocoWorkload({ ...s, seed: 42 });
  let stats: number[] = [];
  const { wall: ms, cpu } = timeIt(() => {
    stats = evaluateCoco(gt, dt).stats;
  }, dt.length > 200_000 ? 1 : 3);
  let py = "n/a";
  let ratio = "n/a";
  if (hasPycocotools) {
    const dir = mkdtempSync(join(tmpdir(), "medfcl-bench-eval-"));
    writeFileSync(join(dir, "gt.json"), JSON.stringify(gt));
    writeFileSync(join(dir, "dt.json"), JSON.stringify(dt));
    const r = spawnSync("python3", ["-c", PY, join(dir, "gt.json"), join(dir, "dt.json")], { encoding: "utf8", maxBuffer: 1 << 26 });
    rmSync(dir, { recursive: true, force: true });
    if (r.status === 0) {
      const out = JSON.parse(r.stdout) as { seconds: number; stats: number[] };
      py = (out.seconds * 1000).toFixed(0);
      ratio = `${((out.seconds * 1000) / ms).toFixed(1)}x`;
      const diff = Math.max(...out.stats.map((v, i) => Math.abs(v - stats[i])));
      if (diff > 1e-9) py += ` (stats differ by ${diff})`;
    }
  }
  rows.push([
    String(s.images),
    String(s.detsPerImage),
    String(s.categories),
    String(dt.length),
    ms.toFixed(0),
    cpu.toFixed(0),
    ((dt.length / cpu) * 1000).toFixed(0),
    py,
    ratio,
    stats[0].toFixed(3),
  ]);
}

const head = ["images", "dets/img", "cats", "detections", "wall ms", "cpu ms", "dets/cpu-s", "pycocotools ms", "speedup", "AP"];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r: string[]) => `| ${r.map((c, i) => c.padStart(widths[i])).join(" | ")} |`;
console.log(`COCO bbox evaluation (evaluate + accumulate + summarize), node ${process.version}, ${cpus().length} cores, load ${loadavg()[0].toFixed(1)}`);
console.log(line(head));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const r of rows) console.log(line(r));
if (!hasPycocotools) {
  console.log("pycocotools: not installed here (`python3 -c 'import pycocotools'` fails), so no side-by-side column; equality is checked by the fixtures in tests/fixtures/coco-eval.");
}
