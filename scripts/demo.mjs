// `make demo`: the README's main job. A coordinator and five agent processes (one per polyp
// training domain) run the same five sites twice over mTLS on the synthetic suite, fine-tuning the
// COCO-pretrained grounded detector (yolox-nano): first sequentially (site after site), then with
// rehearsal (a 100-exemplar replay buffer). Every step is evaluated on all 8 domains, and the audit
// report in runs/demo/report/ puts the two side by side: what fine-tuning forgets, and what replay
// keeps.
//
// The model is the registry's default (`medfcl model list`). Its pretrained weights come from, in
// order: $MEDFCL_BASE_WEIGHTS; the project's shared folder (../shared/weights/<model>, how CI gets
// them), imported into the cache; the cache; the pinned download (`medfcl model fetch <model>`).
// With none of these the demo says so in one line and runs a from-scratch family instead.
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";

const out = process.env.MEDFCL_DEMO_OUT ?? "runs/demo";
const cli = (args, stdio = "inherit") => spawnSync(process.execPath, ["dist/cli/main.js", ...args], { stdio, encoding: "utf8" });

const listed = cli(["model", "list", "--json"], ["ignore", "pipe", "inherit"]);
if (listed.status !== 0) process.exit(listed.status ?? 1);
const registry = JSON.parse(listed.stdout);
const family = registry.families.find((f) => f.default);

/** True when the default family's published weights are in place (or it needs none). */
function pretrainedWeights() {
  if (!family.baseWeights || process.env.MEDFCL_BASE_WEIGHTS) return true;
  const shared = join(process.env.MEDFCL_SHARED_DIR ?? join("..", "shared"), "weights", family.name, family.baseWeights.file);
  const fetchArgs = existsSync(shared) ? ["model", "fetch", family.name, "--from", shared] : ["model", "fetch", family.name];
  const r = cli(fetchArgs, ["ignore", "pipe", "pipe"]);
  if (r.status === 0) return true;
  const why = (r.stderr || r.stdout || "").trim().split("\n").pop();
  console.warn(`demo: no ${family.name} weights (${why}); running the from-scratch ${scratch.name} model instead (see \`medfcl model fetch --help\`)`);
  return false;
}

const scratch = registry.families.find((f) => !f.baseWeights);
rmSync(out, { recursive: true, force: true });
// 128 px and 3 local epochs keep two runs of five fine-tuning steps (and 96 central evaluations)
// within the 10-minute budget on 2 CPU cores, install included; the defaults (256 px, more epochs)
// forget more and take about an hour (docs/results.md §C).
const model = pretrainedWeights() ? ["--model", family.name, "--input-size", "128", "--epochs", "3"] : ["--model", scratch.name];
const args = ["simulate", "--suite", "polyp", "--sites", "5", "--strategy", "sequential", "--compare", "rehearsal", "--buffer", "100", "--seed", "1", "--scale", "small", ...model, "--out", out];
console.log(`$ medfcl ${args.join(" ")}`);
const r = cli(args);
process.exit(r.status ?? 1);
