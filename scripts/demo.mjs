// `make demo`: the README's main job. A coordinator and five agent processes (one per polyp
// training domain) run the same five sites twice over mTLS on the synthetic suite, fine-tuning the
// COCO-pretrained grounded detector (yolox-nano): first sequentially (site after site), then with
// rehearsal (a 100-exemplar replay buffer). Every step is evaluated on all 8 domains, and the audit
// report in runs/demo/report/ puts the two side by side: what fine-tuning forgets, and what replay
// keeps.
//
// The pretrained weights come from, in order: $MEDFCL_BASE_WEIGHTS; the project's shared folder
// (../shared/weights/yolox-nano, how CI gets them), imported into the cache; the cache; the pinned
// download (`medfcl model fetch yolox-nano`). With none of these the demo says so in one line and
// runs the from-scratch nano model instead.
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";

const out = process.env.MEDFCL_DEMO_OUT ?? "runs/demo";
const cli = (args, stdio = "inherit") => spawnSync(process.execPath, ["dist/cli/main.js", ...args], { stdio, encoding: "utf8" });

function pretrainedWeights() {
  if (process.env.MEDFCL_BASE_WEIGHTS) return { args: [] };
  const shared = join(process.env.MEDFCL_SHARED_DIR ?? join("..", "shared"), "weights", "yolox-nano", "yolox_nano.onnx");
  const fetchArgs = existsSync(shared) ? ["model", "fetch", "yolox-nano", "--from", shared] : ["model", "fetch", "yolox-nano"];
  const r = cli(fetchArgs, ["ignore", "pipe", "pipe"]);
  if (r.status === 0) return { args: [] };
  const why = (r.stderr || r.stdout || "").trim().split("\n").pop();
  console.warn(`demo: no yolox-nano weights (${why}); running the from-scratch nano model instead (see \`medfcl model fetch --help\`)`);
  return null;
}

rmSync(out, { recursive: true, force: true });
const weights = pretrainedWeights();
// 128 px and 3 local epochs keep two runs of five fine-tuning steps (and 96 central evaluations)
// within the 10-minute budget on 2 CPU cores, install included; the defaults (256 px, 21 epochs)
// forget more and take about an hour (docs/results.md §C).
const model = weights ? ["--model", "yolox-nano", "--input-size", "128", "--epochs", "3"] : ["--model", "nano"];
const args = ["simulate", "--suite", "polyp", "--sites", "5", "--strategy", "sequential", "--compare", "rehearsal", "--buffer", "100", "--seed", "1", "--scale", "small", ...model, "--out", out];
console.log(`$ medfcl ${args.join(" ")}`);
const r = cli(args);
process.exit(r.status ?? 1);
