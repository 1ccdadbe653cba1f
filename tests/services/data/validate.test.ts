import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { DataValidationError, loadCocoDataset, validateDataset, type ValidationProblem } from "../../../services/data/index.js";
import { tempDir, writeDataset } from "./helpers.js";

// Each test copies this valid dataset, breaks one thing, and expects exactly that problem.
let template = "";

async function broken(mutate: (coco: { images: Record<string, unknown>[]; annotations: Record<string, unknown>[]; categories: Record<string, unknown>[] }, dir: string) => void): Promise<{ dir: string; problems: ValidationProblem[] }> {
  const dir = tempDir();
  await writeDataset(dir, [
    { file: "images/a.png", width: 40, height: 30, format: "png", boxes: [[5, 5, 10, 10]] },
    { file: "images/b.jpg", width: 32, height: 32, format: "jpeg", boxes: [[1, 1, 8, 8], [10, 10, 5, 5]] },
  ]);
  const file = join(dir, "annotations.json");
  const coco = JSON.parse(readFileSync(file, "utf8"));
  mutate(coco, dir);
  writeFileSync(file, JSON.stringify(coco));
  return { dir, problems: await validateDataset(dir) };
}

function expectOne(problems: ValidationProblem[], record: string, field: string, pattern: RegExp, file = "annotations.json"): void {
  assert.equal(problems.length, 1, JSON.stringify(problems));
  const [p] = problems;
  assert.equal(p.record, record);
  assert.equal(p.field, field);
  assert.ok(p.file.endsWith(file), p.file);
  assert.match(p.message, pattern);
}

describe("data validate", () => {
  before(async () => {
    template = (await broken(() => undefined)).dir;
  });

  it("validate - a valid dataset has no problems", async () => {
    assert.deepEqual(await validateDataset(template), []);
  });

  it("validate - schema: a missing array and a wrongly typed field", async () => {
    const { problems } = await broken((c) => {
      delete (c as Record<string, unknown>).categories;
    });
    expectOne(problems, "", "categories", /missing or not an array/);
    const typed = await broken((c) => {
      c.images[0].width = "40";
    });
    expectOne(typed.problems, "image 1", "width", /positive integer/);
    const notJson = tempDir();
    writeFileSync(join(notJson, "annotations.json"), "{ not json");
    const nj = await validateDataset(notJson);
    assert.equal(nj.length, 1);
    assert.match(nj[0].message, /not valid JSON/);
  });

  it("validate - caption_categories must name this file's categories and cover the image's boxes", async () => {
    const unknown = await broken((c) => {
      c.images[0].caption_categories = [9];
    });
    expectOne(unknown.problems, "image 1", "caption_categories", /category ids of this file \(known: 1\)/);
    const uncovered = await broken((c) => {
      c.categories.push({ id: 2, name: "cell", prompt: { prefix: "", name: "round cell", suffix: "" } });
      c.images[0].caption_categories = [2];
    });
    expectOne(uncovered.problems, "annotation 1", "category_id", /not in image 1's caption_categories \(2\)/);
    const fine = await broken((c) => {
      c.images[0].caption_categories = [1];
    });
    assert.deepEqual(fine.problems, []);
    assert.deepEqual((await loadCocoDataset(fine.dir)).images[0].caption_categories, [1]);
  });

  it("validate - an image file that does not exist", async () => {
    const { problems } = await broken((_c, dir) => rmSync(join(dir, "images/b.jpg")));
    expectOne(problems, "image 2", "file_name", /does not exist/, "images/b.jpg");
  });

  it("validate - an image that does not decode", async () => {
    const { problems } = await broken((_c, dir) => writeFileSync(join(dir, "images/a.png"), Buffer.from("\x89PNG garbage")));
    expectOne(problems, "image 1", "file_name", /does not decode/, "images/a.png");
  });

  it("validate - image size differs from the JSON", async () => {
    const { problems } = await broken((c) => {
      c.images[1].height = 33;
    });
    expectOne(problems, "image 2", "height", /JSON says 33 but the file is 32/, "images/b.jpg");
  });

  it("validate - a box outside its image", async () => {
    const { problems } = await broken((c) => {
      c.annotations[0].bbox = [35, 5, 10, 10];
    });
    expectOne(problems, "annotation 1", "bbox", /outside image 1 \(40x30\)/);
  });

  it("validate - a box without positive area", async () => {
    const { problems } = await broken((c) => {
      c.annotations[2].bbox = [10, 10, 0, 5];
    });
    expectOne(problems, "annotation 3", "bbox", /no positive area/);
  });

  it("validate - a category id that does not exist", async () => {
    const { problems } = await broken((c) => {
      c.annotations[1].category_id = 7;
    });
    expectOne(problems, "annotation 2", "category_id", /category 7, which does not exist/);
  });

  it("validate - an annotation pointing at a missing image", async () => {
    const { problems } = await broken((c) => {
      c.annotations[1].image_id = 9;
    });
    expectOne(problems, "annotation 2", "image_id", /image 9, which does not exist/);
  });

  it("validate - duplicate image, annotation and category ids", async () => {
    const img = await broken((c) => {
      c.images[1].id = 1;
      for (const a of c.annotations) a.image_id = 1;
    });
    expectOne(img.problems, "image 1", "id", /duplicate image id 1/, "annotations.json");
    const ann = await broken((c) => {
      c.annotations[2].id = 2;
    });
    expectOne(ann.problems, "annotation 2", "id", /duplicate annotation id 2/);
    const cat = await broken((c) => {
      c.categories.push({ id: 1, name: "other", prompt: { prefix: "", name: "other", suffix: "" } });
    });
    expectOne(cat.problems, "category 1", "id", /duplicate category id 1/);
  });

  it("validate - missing or empty prompts", async () => {
    const none = await broken((c) => {
      delete c.categories[0].prompt;
    });
    expectOne(none.problems, "category 1", "prompt", /missing/);
    const empty = await broken((c) => {
      (c.categories[0].prompt as Record<string, string>).name = " ";
    });
    expectOne(empty.problems, "category 1", "prompt.name", /must not be empty/);
  });

  it("validate - the loader refuses the same defects with the same messages", async () => {
    const { dir, problems } = await broken((c) => {
      c.annotations[0].bbox = [35, 5, 10, 10];
      delete c.categories[0].prompt;
    });
    assert.equal(problems.length, 2);
    await assert.rejects(loadCocoDataset(dir), (err: unknown) => {
      assert.ok(err instanceof DataValidationError);
      assert.deepEqual(err.problems, problems);
      return true;
    });
  });

  it("validate - the CLI names file, record and field and exits 1", async () => {
    const { dir } = await broken((c) => {
      c.annotations[0].bbox = [35, 5, 10, 10];
    });
    const bad = spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", "data", "validate", dir], { encoding: "utf8" });
    assert.equal(bad.status, 1, bad.stderr);
    assert.match(bad.stdout, /annotations\.json: annotation 1: bbox: box \[35, 5, 10, 10\] is outside image 1/);
    const good = spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", "data", "validate", template], { encoding: "utf8" });
    assert.equal(good.status, 0, good.stdout + good.stderr);
  });
});
