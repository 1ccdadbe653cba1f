import { strict as assert } from "node:assert";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import sharp from "sharp";
import type { ExemplarInfo__Output } from "../../generated/medfcl/v1/ExemplarInfo.js";
import type { PulledExemplar } from "../../site-agent/client.js";
import { replayDataset } from "../../site-agent/replay-dataset.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("medfcl-replay-");

async function exemplar(id: string, domain: string, category: { id: number; name: string; words: string }, boxCategory = category.id): Promise<PulledExemplar> {
  const bytes = await sharp({ create: { width: 16, height: 12, channels: 3, background: { r: 40, g: 90, b: 30 } } }).png().toBuffer();
  const info = {
    exemplar_id: id,
    mime: "image/png",
    width: 16,
    height: 12,
    boxes: [{ x: 2, y: 2, width: 5, height: 4, category_id: boxCategory }],
    domain,
    categories: [{ id: category.id, name: category.name, prompt: { prefix: "", name: category.words, suffix: "" } }],
    provenance: null,
    size: bytes.length,
    score: 0,
  } as unknown as ExemplarInfo__Output;
  return { info, bytes };
}

describe("site agent - replay buffer as a dataset", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("replay - categories from different sites are matched by name and prompt, never by id, and each image keeps its own", async () => {
    const polyp = { id: 1, name: "polyp", words: "pink oval bump" };
    const cell = { id: 1, name: "cell", words: "small round red cell" }; // the same id at another site
    const r = await replayDataset(join(dir, "a"), [await exemplar("e1", "kvasir", polyp), await exemplar("e2", "cells", cell), await exemplar("e3", "clinicdb", polyp)]);
    assert.ok(r);
    assert.deepEqual(r.categories.map((c) => [c.id, c.name]), [[1, "polyp"], [2, "cell"]]);
    assert.deepEqual(r.images.map((im) => [im.id, im.caption_categories]), [[1, [1]], [2, [2]], [3, [1]]]);
    assert.deepEqual(r.annotations.map((a) => [a.image_id, a.category_id]), [[1, 1], [2, 2], [3, 1]]);
  });

  it("replay - a box of a category its exemplar does not declare is an error naming the exemplar, not a dropped label", async () => {
    const polyp = { id: 1, name: "polyp", words: "pink oval bump" };
    await assert.rejects(replayDataset(join(dir, "b"), [await exemplar("e-bad", "kvasir", polyp, 7)]), /exemplar e-bad has a box of category 7/);
  });
});
