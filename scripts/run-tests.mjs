// Runs every tests/**/*.test.ts with Node's built-in test runner (TypeScript through tsx).
// Node 20's --test does not expand globs itself, so the files are listed here.
// Usage: node scripts/run-tests.mjs [path-substring ...]
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== "fixtures" && name !== "node_modules") out.push(...walk(p));
    } else if (name.endsWith(".test.ts")) {
      out.push(relative(root, p));
    }
  }
  return out;
}

const filters = process.argv.slice(2);
const files = walk(join(root, "tests"))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(" ")}`);
  process.exit(1);
}
const concurrency = process.env.MEDFCL_TEST_CONCURRENCY ?? "2";
const reporter = process.env.MEDFCL_TEST_REPORTER ?? "spec";
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", `--test-concurrency=${concurrency}`, `--test-reporter=${reporter}`, ...files],
  { cwd: root, stdio: "inherit", env: { ...process.env, NODE_ENV: "test" } },
);
process.exit(result.status ?? 1);
