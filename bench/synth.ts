// Measures `synthesizeSuite` wall time per scale, and image throughput against a baseline of
// rendering only (no encoding, no disk), both in the same run.
// Usage: npx tsx bench/synth.ts [--scale small] [--suite polyp] [--seed 0]
import { mkdtempSync, rmSync } from "node:fs";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { POLYP_DOMAINS, TASK_DOMAINS, mixSeed, mulberry32, scaledSize, suiteDomains, synthesizeSuite, type SuiteName, type SuiteScale } from "../services/data/index.js";

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

const scale = arg("scale", "small") as SuiteScale;
const suite = arg("suite", "polyp") as SuiteName;
const seed = Number(arg("seed", "0"));

function renderOnly(): { images: number; ms: number } {
  const t0 = performance.now();
  let n = 0;
  for (const spec of suiteDomains(suite)) {
    const [tr, te] = spec.counts[scale];
    for (let i = 0; i < tr + te; i++) {
      const rng = mulberry32(mixSeed(seed, i));
      const full = spec.sizes[0];
      const [w, h] = scaledSize(full[0], full[1], scale);
      spec.render(w, h, rng);
      n++;
    }
  }
  return { images: n, ms: performance.now() - t0 };
}

const loadBefore = os.loadavg()[0].toFixed(1);
const out = mkdtempSync(join(tmpdir(), "medfcl-bench-synth-"));
const t0 = performance.now();
const c0 = process.cpuUsage();
const index = await synthesizeSuite({ suite, out, seed, scale });
const full = performance.now() - t0;
const c1 = process.cpuUsage(c0);
const fullCpu = (c1.user + c1.system) / 1000;
const images = index.domains.reduce((a, d) => a + Object.values(d.counts).reduce((x, y) => x + y, 0), 0);
const c2 = process.cpuUsage();
const base = renderOnly();
const c3 = process.cpuUsage(c2);
const baseCpu = (c3.user + c3.system) / 1000;
rmSync(out, { recursive: true, force: true });

const rows = [
  ["synthesizeSuite (render+encode+write)", images, full, fullCpu],
  ["baseline: render only", base.images, base.ms, baseCpu],
] as const;
console.log(`suite=${suite} scale=${scale} seed=${seed} domains=${index.domains.length} (polyp ${POLYP_DOMAINS.length}, tasks ${TASK_DOMAINS.length})`);
console.log(`load average before/after: ${loadBefore} / ${os.loadavg()[0].toFixed(1)} (2 cores shared)`);
console.log("| step | images | wall s | cpu s (all threads) | wall ms/image | wall ratio vs baseline |");
console.log("|---|---:|---:|---:|---:|---:|");
for (const [name, n, ms, cpu] of rows) {
  console.log(`| ${name} | ${n} | ${(ms / 1000).toFixed(2)} | ${(cpu / 1000).toFixed(2)} | ${(ms / n).toFixed(1)} | ${(ms / n / (base.ms / base.images)).toFixed(2)} |`);
}
