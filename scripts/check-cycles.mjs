#!/usr/bin/env node
// Finds import cycles among the project's own TypeScript modules (issue 26: none may exist under
// services/, coordinator/ or site-agent/). Type-only imports count too: they still tie two modules'
// designs together. Prints each cycle once and exits 1 when there is any.
//
// Usage: node scripts/check-cycles.mjs [dir ...]   (default: services coordinator site-agent)
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const dirs = process.argv.slice(2).length ? process.argv.slice(2) : ["services", "coordinator", "site-agent"];

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

const importRe = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
/** The project file a relative specifier names (".js" in the source stands for the ".ts" file). */
function resolveSpecifier(from, spec) {
  if (!spec.startsWith(".")) return null;
  const base = resolve(dirname(from), spec);
  for (const c of [base.replace(/\.js$/, ".ts"), `${base}.ts`, join(base, "index.ts")]) if (existsSync(c)) return c;
  return null;
}

const files = dirs.flatMap((d) => walk(join(root, d)));
const inScope = new Set(files);
const edges = new Map();
for (const f of files) {
  const text = readFileSync(f, "utf8");
  const deps = new Set();
  for (const m of text.matchAll(importRe)) {
    const target = resolveSpecifier(f, m[1] ?? m[2]);
    if (target && inScope.has(target)) deps.add(target);
  }
  edges.set(f, [...deps]);
}

// Tarjan's strongly connected components: every component of more than one module is a cycle.
let index = 0;
const idx = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const components = [];
function strongConnect(v) {
  idx.set(v, index);
  low.set(v, index++);
  stack.push(v);
  onStack.add(v);
  for (const w of edges.get(v) ?? []) {
    if (!idx.has(w)) {
      strongConnect(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const comp = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1 || (edges.get(v) ?? []).includes(v)) components.push(comp);
  }
}
for (const f of files) if (!idx.has(f)) strongConnect(f);

if (components.length === 0) {
  process.stdout.write(`no import cycle among ${files.length} modules under ${dirs.join(", ")}\n`);
  process.exit(0);
}
for (const comp of components) {
  process.stdout.write(`import cycle of ${comp.length} modules:\n${comp.map((f) => `  ${relative(root, f)}`).sort().join("\n")}\n`);
}
process.stdout.write(`${components.length} import cycle(s); break each by moving what both sides need into a module that imports neither\n`);
process.exit(1);
