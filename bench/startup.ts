/**
 * Start-up cost: how long a fresh process takes to load what medfcl's processes and training
 * workers load, against a bare `node` in the same run. Every federated task spawns an onnxruntime
 * worker thread that imports the trainer's modules, and every CLI call imports the model code, so
 * this time is paid per task and per command.
 *
 *   npx tsx bench/startup.ts [--repeat 7]
 *
 * Each case runs `--repeat` times in a fresh process, the cases interleaved so that load on the
 * machine falls on all of them alike; the table gives the median and the fastest wall time. The
 * `@tensorflow/tfjs` bundle is what services/model/tfjs/backend.ts imported before it took
 * tfjs-core and two backends; the tfjs trainer still loads it for the ops' gradients.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { repeat: { type: "string", default: "7" } } });
const repeat = Number(values.repeat);
if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat must be a whole number ≥ 1, got ${values.repeat}`);

const root = resolve(import.meta.dirname, "..");
const importing = (spec: string): string[] => ["--input-type=module", "-e", `await import(${JSON.stringify(spec)});`];
const underTsx = (file: string): string[] => ["--import", "tsx", "--input-type=module", "-e", `await import(${JSON.stringify(join(root, file))});`];

interface Case {
  name: string;
  args: string[];
}
const cases: Case[] = [
  { name: "node, nothing imported (baseline)", args: ["-e", "0"] },
  { name: "onnxruntime-node", args: importing("onnxruntime-node") },
  { name: "tfjs-core + cpu + wasm backends", args: ["--input-type=module", "-e", "await import('@tensorflow/tfjs-core'); await import('@tensorflow/tfjs-backend-cpu'); await import('@tensorflow/tfjs-backend-wasm');"] },
  { name: "the @tensorflow/tfjs bundle + wasm backend", args: ["--input-type=module", "-e", "await import('@tensorflow/tfjs'); await import('@tensorflow/tfjs-backend-wasm');"] },
  { name: "the tfjs backend module (tsx)", args: underTsx("services/model/tfjs/backend.ts") },
  { name: "the ort training worker's modules (tsx)", args: underTsx("services/model/training/ort/stepper.ts") },
  // What the worker loaded while backend.ts imported the bundle: the same modules plus the bundle.
  { name: "the same + the tfjs bundle (the worker before)", args: ["--import", "tsx", "--input-type=module", "-e", `await import('@tensorflow/tfjs'); await import(${JSON.stringify(join(root, "services/model/training/ort/stepper.ts"))});`] },
];
const cli = join(root, "dist", "cli", "main.js");
if (existsSync(cli)) cases.push({ name: "medfcl --help (dist)", args: [cli, "--help"] });
else console.log(`(dist/cli/main.js is not built: run \`npm run build\` to time \`medfcl --help\`)`);

const wall = new Map<string, number[]>(cases.map((c) => [c.name, []]));
for (let r = 0; r < repeat; r++) {
  for (const c of cases) {
    const t0 = performance.now();
    const res = spawnSync(process.execPath, c.args, { cwd: root, encoding: "utf8" });
    const ms = performance.now() - t0;
    if (res.status !== 0) throw new Error(`${c.name} exited ${res.status}: ${res.stderr.slice(0, 500)}`);
    wall.get(c.name)!.push(ms);
  }
  process.stderr.write(`round ${r + 1}/${repeat}\r`);
}
process.stderr.write("\n");

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const base = median(wall.get(cases[0].name)!);
console.log(`\nstart-up, ${repeat} fresh processes per case, interleaved (node ${process.version})\n`);
console.log("| what the process loads | median ms | fastest ms | median − baseline ms |");
console.log("|---|---:|---:|---:|");
for (const c of cases) {
  const xs = wall.get(c.name)!;
  const m = median(xs);
  console.log(`| ${c.name} | ${m.toFixed(0)} | ${Math.min(...xs).toFixed(0)} | ${c === cases[0] ? "–" : (m - base).toFixed(0)} |`);
}
