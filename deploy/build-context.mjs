#!/usr/bin/env node
// Assembles the docker build context for the medfcl images: the compiled dist/, the gRPC .proto
// files, package.json, the production-only node_modules (read from package-lock.json, so no network
// and no npm run), the Dockerfiles, the agent's healthcheck script, and empty mount points owned by
// the image's user.
//
// Why not `npm ci --omit=dev` inside the image: the build hosts of this project (and many hospital
// build hosts) have no registry access from containers, and better-sqlite3 would compile from source
// there. Copying the already-installed packages is exact because the lockfile marks every dev-only
// package with "dev": true.
//
// Usage: node deploy/build-context.mjs [--out DIR] [--build] [--copy]
//   --out DIR  where to write the context (default deploy/build/context); it is replaced
//   --build    run `npm run build` first (otherwise dist/ must already exist)
//   --copy     copy files instead of hard-linking them (use when DIR is on another filesystem)
// Then: docker build -f DIR/agent.Dockerfile -t medfcl-agent DIR
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  readlinkSync,
  lstatSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(new URL("..", import.meta.url).pathname);

/** Files no production process reads: source maps, type declarations, build bookkeeping. */
const droppedSuffixes = [".map", ".d.ts", ".d.mts", ".d.cts", ".tsbuildinfo", ".min.js.html"];

/**
 * Package-specific pruning, each with its reason. A path is relative to the package folder and uses "/".
 * Every rule removes only files that Node never loads on linux (checked by the e2e test, which imports
 * every runtime dependency inside the image).
 */
const packageRules = {
  // Prebuilt binaries for every OS ship in the package (≈250 MB); keep this platform's only.
  "onnxruntime-node": (p) => onlyUnder(p, "bin/napi-v6", `bin/napi-v6/${process.platform}/${process.arch}`),
  // Only the compiled addon is loaded; the sqlite amalgamation, C++ sources and object files are not.
  "better-sqlite3": (p) => isAt(p, "deps") || isAt(p, "src") || onlyUnder(p, "build", "build/Release/better_sqlite3.node"),
};

function isAt(p, dir) {
  return p === dir || p.startsWith(`${dir}/`);
}

/** True when p lies under `dir` but neither on the way to `keep` nor inside it. */
function onlyUnder(p, dir, keep) {
  if (!p.startsWith(`${dir}/`)) return false;
  return !(isAt(p, keep) || keep.startsWith(`${p}/`));
}

/** tfjs packages carry browser bundles and a mini-program build next to the node entry points. */
function tfjsRule(p) {
  if (!p.startsWith("dist/")) return false;
  const rest = p.slice("dist/".length);
  if (rest.startsWith("miniprogram/")) return true;
  if (rest.includes("/")) return /_test\.js$/.test(rest);
  if (/\.node\.js$/.test(rest) || /\.wasm$/.test(rest)) return false;
  return /^tf[-a-z]*\.(es2017\.|fesm\.)?(min\.)?js$/.test(rest) || /_test\.js$/.test(rest);
}

function parseArgs(argv) {
  const args = { out: join(root, "deploy", "build", "context"), build: false, copy: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--out") args.out = resolve(argv[++i] ?? "");
    else if (a === "--build") args.build = true;
    else if (a === "--copy") args.copy = true;
    else if (a === "--help" || a === "-h") {
      process.stdout.write(readFileSync(new URL(import.meta.url), "utf8").split("\n").filter((l) => l.startsWith("//")).join("\n") + "\n");
      process.exit(0);
    } else {
      process.stderr.write(`build-context: unknown argument ${a} (see --help)\n`);
      process.exit(2);
    }
  }
  return args;
}

/** Top-level folders of the production packages, from the lockfile (nested ones come with their parent). */
export function productionPackages(lock) {
  const prod = Object.entries(lock.packages ?? {})
    .filter(([path, meta]) => path.startsWith("node_modules/") && !meta.dev && !meta.link)
    .map(([path]) => path);
  const set = new Set(prod);
  const devNested = Object.entries(lock.packages ?? {})
    .filter(([path, meta]) => path.startsWith("node_modules/") && meta.dev)
    .map(([path]) => path);
  return { roots: prod.filter((p) => !hasProdAncestor(p, set)).sort(), devNested };
}

function hasProdAncestor(path, set) {
  const parts = path.split("/node_modules/");
  for (let i = 1; i < parts.length; i++) if (set.has(parts.slice(0, i).join("/node_modules/"))) return true;
  return false;
}

function packageNameOf(relPath) {
  // relPath like node_modules/a/node_modules/@s/b/lib/x.js -> the innermost package name and the rest
  const segs = relPath.split("/");
  let name = "";
  let start = -1;
  for (let i = 0; i < segs.length; i++) {
    if (segs[i] === "node_modules" && i + 1 < segs.length) {
      if (segs[i + 1].startsWith("@") && i + 2 < segs.length) {
        name = `${segs[i + 1]}/${segs[i + 2]}`;
        start = i + 3;
      } else {
        name = segs[i + 1];
        start = i + 2;
      }
    }
  }
  return { name, rest: start >= 0 ? segs.slice(start).join("/") : relPath };
}

export function dropped(relPath) {
  if (droppedSuffixes.some((s) => relPath.endsWith(s))) return true;
  const { name, rest } = packageNameOf(relPath);
  if (name.startsWith("@types/")) return true;
  const rule = packageRules[name];
  if (rule && rule(rest)) return true;
  if (name.startsWith("@tensorflow/tfjs") && tfjsRule(rest)) return true;
  return false;
}

function place(src, dst, copy, stats) {
  if (copy) copyFileSync(src, dst);
  else {
    try {
      linkSync(src, dst);
    } catch {
      copyFileSync(src, dst);
    }
  }
  stats.files++;
  stats.bytes += statSync(src).size;
}

function copyTree(srcRoot, dstRoot, relBase, skip, copy, stats) {
  const src = join(srcRoot, relBase);
  const st = lstatSync(src);
  const dst = join(dstRoot, relBase);
  if (st.isSymbolicLink()) {
    mkdirSync(dirname(dst), { recursive: true });
    symlinkSync(readlinkSync(src), dst);
    return;
  }
  if (st.isDirectory()) {
    mkdirSync(dst, { recursive: true });
    for (const name of readdirSync(src)) {
      const rel = relBase ? `${relBase}/${name}` : name;
      if (skip(rel)) {
        stats.skipped++;
        continue;
      }
      copyTree(srcRoot, dstRoot, rel, skip, copy, stats);
    }
    return;
  }
  if (st.isFile()) place(src, dst, copy, stats);
}

export function assembleContext({ out, copy = false }) {
  const dist = join(root, "dist", "cli", "main.js");
  if (!existsSync(dist)) {
    process.stderr.write(`build-context: ${relative(process.cwd(), dist)} is missing; run \`npm run build\` first or pass --build\n`);
    process.exit(1);
  }
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"));
  const { roots, devNested } = productionPackages(lock);
  const devSet = new Set(devNested);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const stats = { files: 0, bytes: 0, skipped: 0, packages: roots.length };

  for (const pkg of roots) {
    if (!existsSync(join(root, pkg))) continue; // optional package for another platform
    copyTree(root, out, pkg, (rel) => devSet.has(rel) || dropped(rel) || rel.endsWith("/.bin"), copy, stats);
  }
  copyTree(root, out, "dist", (rel) => dropped(rel), copy, stats);
  // gRPC loads the .proto files at run time (services/transport/proto.ts finds <package>/proto).
  copyTree(root, out, "proto", (rel) => !rel.endsWith(".proto") && !statSync(join(root, rel)).isDirectory(), copy, stats);

  // package.json without the dev tooling: the image only needs name, version, type and bin.
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const slim = { name: pkg.name, version: pkg.version, description: pkg.description, license: pkg.license, type: pkg.type, bin: pkg.bin, engines: pkg.engines, dependencies: pkg.dependencies };
  writeFileSync(join(out, "package.json"), `${JSON.stringify(slim, null, 2)}\n`);

  for (const name of readdirSync(join(root, "deploy"))) {
    if (name.endsWith(".Dockerfile") || name === "agent-healthcheck.mjs") copyFileSync(join(root, "deploy", name), join(out, name));
  }
  // Empty mount points; the Dockerfiles COPY them with the runtime user's ownership.
  for (const dir of ["state", "data", "certs", "config", "eval"]) {
    mkdirSync(join(out, "skel", dir), { recursive: true });
  }
  return stats;
}

const isMain = process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname);
if (isMain) {
  const args = parseArgs(process.argv.slice(2));
  if (args.build) {
    const r = spawnSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  const stats = assembleContext(args);
  process.stdout.write(
    `build-context: ${args.out}: ${stats.packages} production packages, ${stats.files} files, ${(stats.bytes / 1048576).toFixed(1)} MiB (${stats.skipped} paths pruned)\n`,
  );
}
