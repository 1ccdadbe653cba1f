#!/usr/bin/env node
// Finds import cycles among the project's own TypeScript modules (issue 26: none may exist under
// services/, coordinator/ or site-agent/). Type-only and lazy imports count too: they still tie two
// modules' designs together. Prints each cycle once and exits 1 when there is any.
//
// Usage: node scripts/check-cycles.mjs [dir ...]   (default: services coordinator site-agent)
import { join, relative } from "node:path";
import { importsOf, repoRoot as root, sourcesUnder } from "./lib/import-graph.mjs";

const dirs = process.argv.slice(2).length ? process.argv.slice(2) : ["services", "coordinator", "site-agent"];

const files = dirs.flatMap((d) => sourcesUnder(join(root, d)));
const inScope = new Set(files);
const edges = new Map();
for (const f of files) {
  const imp = importsOf(f);
  edges.set(f, [...imp.files, ...imp.typeFiles, ...imp.lazyFiles].filter((t) => inScope.has(t)));
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
