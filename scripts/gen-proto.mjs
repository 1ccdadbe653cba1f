// Generates TypeScript types for proto/medfcl/v1 into the given folder (default generated/).
// The loader options here must equal those in services/transport/proto.ts.
import { execFileSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const out = process.argv[2] ?? join(root, "generated");
const protoDir = join(root, "proto");
const files = readdirSync(join(protoDir, "medfcl/v1")).filter((f) => f.endsWith(".proto")).map((f) => `medfcl/v1/${f}`);
rmSync(out, { recursive: true, force: true });
execFileSync(
  join(root, "node_modules/.bin/proto-loader-gen-types"),
  ["--keepCase", "--longs=Number", "--enums=String", "--defaults", "--oneofs", "--grpcLib=@grpc/grpc-js", `--includeDirs=${protoDir}`, `--outDir=${out}`, ...files],
  { cwd: root, stdio: "inherit" },
);

// Post-process so the output is valid NodeNext ESM and independent of the checkout's location.
import { readFileSync, writeFileSync, statSync as statOf } from "node:fs";
function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statOf(p).isDirectory() ? walk(p) : [p];
  });
}
for (const file of walk(out)) {
  const text = readFileSync(file, "utf8")
    .replace(/from '(\.{1,2}\/[^']+)'/g, (_m, p) => `from '${p}.js'`)
    .replaceAll(`${protoDir}/`, "proto/");
  writeFileSync(file, text);
}
