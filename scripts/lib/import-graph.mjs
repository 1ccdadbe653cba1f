// The project's static import graph, read from the sources (no TypeScript needed): which project
// modules each module imports at load time, and which packages. Dynamic `import()` is lazy and is
// kept apart. Used by scripts/check-cycles.mjs and by tests that bound what a module loads.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export const repoRoot = resolve(dirname(new URL(import.meta.url).pathname), "..", "..");

/** Every .ts source under `dir` (declaration files aside). */
export function sourcesUnder(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourcesUnder(p));
    else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

// Group 1: "type " for `import type` / `export type`, which TypeScript erases (they load nothing).
const staticRe = /(?:^|\n)\s*(?:import|export)\s(type\s)?(?:[^;"'`]*?\sfrom\s*)?["']([^"']+)["']/g;
const dynamicRe = /import\(\s*["']([^"']+)["']\s*\)/g;

/** The project file a relative specifier names (".js" in the source stands for the ".ts" file). */
export function resolveSpecifier(from, spec) {
  if (!spec.startsWith(".")) return null;
  const base = resolve(dirname(from), spec);
  for (const c of [base.replace(/\.js$/, ".ts"), `${base}.ts`, join(base, "index.ts")]) if (existsSync(c) && statSync(c).isFile()) return c;
  return null;
}

/** A package specifier's package name ("@scope/name" or "name"); null for node: builtins and relative paths. */
export function packageOf(spec) {
  if (spec.startsWith(".") || spec.startsWith("node:")) return null;
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/**
 * What one module imports: project files and packages loaded with it (`files`, `packages`), those
 * named only by type-only imports (`typeFiles`), and those imported lazily with `import()`.
 */
export function importsOf(file) {
  const text = readFileSync(file, "utf8");
  const out = { files: new Set(), packages: new Set(), typeFiles: new Set(), lazyFiles: new Set(), lazyPackages: new Set() };
  const add = (spec, files, packages) => {
    const target = resolveSpecifier(file, spec);
    if (target) files.add(target);
    const pkg = packageOf(spec);
    if (pkg && packages) packages.add(pkg);
  };
  for (const m of text.matchAll(staticRe)) {
    if (m[1]) add(m[2], out.typeFiles, null);
    else add(m[2], out.files, out.packages);
  }
  for (const m of text.matchAll(dynamicRe)) add(m[1], out.lazyFiles, out.lazyPackages);
  return out;
}

/**
 * Everything loading `entries` loads before any code runs: the project modules reached by static
 * imports, and for each package the chain of modules that brought it in (the first one found).
 */
export function staticClosure(entries) {
  const seen = new Map(); // file -> the file that imported it (null for an entry)
  const packages = new Map(); // package -> importing chain
  const queue = entries.map((e) => [resolve(repoRoot, e), null]);
  while (queue.length) {
    const [file, parent] = queue.shift();
    if (seen.has(file)) continue;
    seen.set(file, parent);
    const imp = importsOf(file);
    for (const pkg of imp.packages) {
      if (packages.has(pkg)) continue;
      const chain = [];
      for (let f = file; f; f = seen.get(f)) chain.unshift(f.slice(repoRoot.length + 1));
      packages.set(pkg, chain);
    }
    for (const dep of imp.files) if (!seen.has(dep)) queue.push([dep, file]);
  }
  return { modules: [...seen.keys()], packages };
}
