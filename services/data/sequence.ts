/**
 * A view of a suite with another training sequence: the named domains train, in that order, and
 * every other domain of the suite is evaluated as test-only. The view is a folder with its own
 * suite.json whose domain folders are symbolic links to the original ones, so no image is copied
 * and the original suite is never written.
 */
import { existsSync, mkdirSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeFileAtomicSync } from "../store/index.js";
import { DataArgumentError } from "./errors.js";
import { SUITE_FILE } from "./synth/suite.js";
import { type SuiteDomain, type SuiteIndex } from "./types.js";

/** The index of the view: `sequence` first (as training domains), then the rest as test-only. */
export function sequenceIndex(index: SuiteIndex, sequence: string[]): SuiteIndex {
  const byName = new Map(index.domains.map((d) => [d.name, d]));
  const seen = new Set<string>();
  for (const name of sequence) {
    const d = byName.get(name);
    if (!d) throw new DataArgumentError(`--sequence: "${name}" is not a domain of the suite (${index.domains.map((x) => x.name).join(", ")})`);
    if (seen.has(name)) throw new DataArgumentError(`--sequence: "${name}" is named twice`);
    if (!d.splits.train) throw new DataArgumentError(`--sequence: "${name}" has no train split, so it cannot be a training step`);
    seen.add(name);
  }
  const trained: SuiteDomain[] = sequence.map((n) => ({ ...byName.get(n)!, role: "train" }));
  const rest: SuiteDomain[] = index.domains.filter((d) => !seen.has(d.name)).map((d) => ({ ...d, role: "test-only" }));
  return { ...index, domains: [...trained, ...rest] };
}

/** Writes the view into `out` (suite.json plus one link per domain folder) and returns its index. */
export function writeSequenceSuite(srcDir: string, index: SuiteIndex, sequence: string[], out: string): SuiteIndex {
  const view = sequenceIndex(index, sequence);
  const src = resolve(srcDir);
  mkdirSync(out, { recursive: true });
  for (const d of view.domains) {
    // Split paths are "<domain folder>/<split>"; linking each top folder keeps them valid in the view.
    const folders = new Set(Object.values(d.splits).map((p) => String(p).split("/")[0]));
    for (const f of folders) {
      const link = join(out, f);
      const target = join(src, f);
      if (existsSync(link)) {
        let same = false;
        try {
          same = readlinkSync(link) === target;
        } catch {
          same = false;
        }
        if (same) continue;
        rmSync(link, { recursive: true, force: true });
      }
      symlinkSync(target, link, "dir");
    }
  }
  writeFileAtomicSync(join(out, SUITE_FILE), `${JSON.stringify(view, null, 2)}\n`);
  return view;
}
