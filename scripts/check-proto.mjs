// Fails when generated/ differs from what `npm run gen:proto` would write from proto/.
import { execSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), "medfcl-gen-"));
execSync(`node scripts/gen-proto.mjs ${out}`, { cwd: root, stdio: "inherit" });

function files(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}
const want = new Map(files(out).map((p) => [relative(out, p), readFileSync(p, "utf8")]));
const have = new Map(files(join(root, "generated")).map((p) => [relative(join(root, "generated"), p), readFileSync(p, "utf8")]));
rmSync(out, { recursive: true, force: true });
const problems = [];
for (const [name, text] of want) if (have.get(name) !== text) problems.push(`generated/${name} is stale`);
for (const name of have.keys()) if (!want.has(name)) problems.push(`generated/${name} has no source in proto/`);
if (problems.length) {
  console.error(`${problems.join("\n")}\nrun \`npm run gen:proto\` and commit generated/`);
  process.exit(1);
}
console.log(`generated/: ${want.size} files match proto/`);
