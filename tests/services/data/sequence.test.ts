import { strict as assert } from "node:assert";
import { existsSync, lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { DataArgumentError, loadCocoDataset, readSuiteIndex, sequenceIndex, synthesizeSuite, trainingDomains, writeSequenceSuite, type SuiteIndex } from "../../../services/data/index.js";
import { tempDir } from "./helpers.js";

describe("suite sequence view", () => {
  let src = "";
  let index: SuiteIndex;
  before(async () => {
    src = tempDir("medfcl-seq-src-");
    index = await synthesizeSuite({ suite: "tasks", out: src, seed: 2, scale: "tiny", domains: ["polyp", "cells", "foot-ulcer", "brain-tumor"] });
  });

  it("sequence - the named domains train in that order and the others become test-only", () => {
    const view = sequenceIndex(index, ["foot-ulcer", "polyp"]);
    assert.deepEqual(trainingDomains(view).map((d) => d.name), ["foot-ulcer", "polyp"]);
    assert.deepEqual(view.domains.map((d) => [d.name, d.role]), [["foot-ulcer", "train"], ["polyp", "train"], ["cells", "test-only"], ["brain-tumor", "test-only"]]);
    // Every split stays where it was: the view only reorders and re-roles.
    for (const d of view.domains) assert.deepEqual(d.splits, index.domains.find((x) => x.name === d.name)!.splits);
  });

  it("sequence - unknown, repeated or train-less domains are refused by name", () => {
    assert.throws(() => sequenceIndex(index, ["polyp", "thyroid"]), (e: unknown) => e instanceof DataArgumentError && /"thyroid" is not a domain/.test(e.message));
    assert.throws(() => sequenceIndex(index, ["polyp", "polyp"]), /"polyp" is named twice/);
    const noTrain: SuiteIndex = { ...index, domains: index.domains.map((d) => (d.name === "cells" ? { ...d, role: "test-only", splits: { test: d.splits.test } } : d)) };
    assert.throws(() => sequenceIndex(noTrain, ["cells"]), /has no train split/);
  });

  it("sequence - the view is a readable suite of links; the source suite is untouched", async () => {
    const before = readFileSync(join(src, "suite.json"), "utf8");
    const out = join(tempDir("medfcl-seq-view-"), "view");
    writeSequenceSuite(src, index, ["cells", "brain-tumor"], out);
    const view = readSuiteIndex(out);
    assert.deepEqual(trainingDomains(view).map((d) => d.name), ["cells", "brain-tumor"]);
    assert.ok(lstatSync(join(out, "cells")).isSymbolicLink(), "domain folders are links, not copies");
    const ds = await loadCocoDataset(join(out, view.domains[0].splits.train!));
    assert.equal(ds.images.length, index.domains.find((d) => d.name === "cells")!.counts.train);
    // Writing it again (a resumed experiment) keeps the links.
    writeSequenceSuite(src, index, ["cells", "brain-tumor"], out);
    assert.ok(existsSync(join(out, "cells", "train", "annotations.json")));
    assert.equal(readFileSync(join(src, "suite.json"), "utf8"), before);
  });
});
