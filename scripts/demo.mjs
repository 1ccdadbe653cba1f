// `make demo`: the README's main job. A coordinator and five agent processes (one per polyp
// training domain) run a rehearsal continual run over mTLS on the synthetic suite; every step is
// evaluated on all 8 domains and the audit report lands in runs/demo/report/.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";

const out = process.env.MEDFCL_DEMO_OUT ?? "runs/demo";
rmSync(out, { recursive: true, force: true });
const args = ["dist/cli/main.js", "simulate", "--suite", "polyp", "--sites", "5", "--strategy", "rehearsal", "--buffer", "100", "--seed", "1", "--scale", "small", "--out", out];
console.log(`$ medfcl ${args.slice(1).join(" ")}`);
const r = spawnSync(process.execPath, args, { stdio: "inherit" });
process.exit(r.status ?? 1);
