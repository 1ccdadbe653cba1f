// Images that do not decode are found when the agent starts, named, and (under "skip") left out of
// training, so they never cost the site its step; under "refuse" the agent does not start.
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DataValidationError, loadCocoDataset, synthesizeSuite } from "../../services/data/index.js";
import { silentLogger } from "../../services/log/index.js";
import { checkImages } from "../../site-agent/image-check.js";
import { loadSiteData } from "../../site-agent/site-data.js";
import { tempDir } from "../helpers/temp.js";

const dir = tempDir("medfcl-bad-images-");
const dataDir = join(dir, "kvasir", "train");
const TRUNCATED = [2, 5, 9];

describe("site-agent - bad images", () => {
  let files: string[] = [];
  let total = 0;

  before(async () => {
    await synthesizeSuite({ suite: "polyp", out: dir, seed: 7, scale: "tiny", domains: ["kvasir"] });
    const ds = await loadCocoDataset(dataDir);
    total = ds.images.length;
    // Three JPEGs cut short, as a copy interrupted half way leaves them.
    files = TRUNCATED.map((id) => ds.images.find((im) => im.id === id)!.file_name);
    for (const f of files) {
      const bytes = readFileSync(join(dataDir, f));
      writeFileSync(join(dataDir, f), bytes.subarray(0, Math.floor(bytes.length / 2)));
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("site-agent - under skip the 3 truncated images are named (log, notes) and left out; the manifest counts the rest", async () => {
    const stateDir = mkdtempSync(join(dir, "state-"));
    const data = await loadSiteData({ data: dataDir, task: "polyp", stateDir, badImages: "skip" }, silentLogger());
    assert.deepEqual(data.badImages.map((b) => b.file), files);
    for (const b of data.badImages) assert.match(b.reason, /premature end of JPEG/i);
    assert.equal(data.dataset.images.length, total - 3);
    assert.ok(data.dataset.images.every((im) => !TRUNCATED.includes(im.id)));
    assert.ok(data.dataset.annotations.every((a) => !TRUNCATED.includes(a.image_id)), "their boxes go with them");
    assert.equal(data.manifest().num_images, total - 3);
    assert.match(data.notes[0], new RegExp(`3 of ${total} images .* policy "skip": training without them`));
    for (const f of files) assert.ok(data.notes.some((n) => n.startsWith(`bad image ${f} `)), `a note names ${f}`);
    assert.ok(data.notes.every((n) => !n.includes(dir)), "the site's absolute paths stay at the site");
  });

  it("site-agent - the check is cached by content hash: a restart decodes nothing it has seen", async () => {
    const stateDir = mkdtempSync(join(dir, "state-"));
    const ds = await loadCocoDataset(dataDir);
    const first = await checkImages(ds, stateDir);
    const second = await checkImages(ds, stateDir);
    assert.deepEqual([first.cached, second.cached], [0, total]);
    assert.deepEqual(second.bad, first.bad);
  });

  it("site-agent - under refuse the agent does not start, and the error names every bad file", async () => {
    const stateDir = mkdtempSync(join(dir, "state-"));
    await assert.rejects(loadSiteData({ data: dataDir, task: "polyp", stateDir, badImages: "refuse" }, silentLogger()), (err: unknown) => {
      assert.ok(err instanceof DataValidationError);
      for (const f of files) assert.ok(err.message.includes(f), `names ${f}`);
      assert.match(JSON.stringify(err.details), /--bad-images skip/);
      return true;
    });
  });

  // Training on the rest, end to end through a coordinator (the step is not lost, the coordinator's
  // notes name the files): tests/faults/site-data-faults.test.ts.
});
