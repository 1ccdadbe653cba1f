import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";

const modelDir = new URL("../../../../services/model/", import.meta.url);
const BUNDLE = /\/@tensorflow\/tfjs\/|tfjs-layers|tfjs-converter|tfjs-backend-webgl/;

/** The @tensorflow packages a fresh process has loaded after importing `file` (and running `then`). */
function tfjsLoadedBy(file: string, then = ""): string[] {
  const script = `const m = await import(${JSON.stringify(fileURLToPath(new URL(file, modelDir)))});
    ${then}
    const { createRequire } = await import("node:module");
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    console.log(JSON.stringify(loaded.filter((p) => p.includes("@tensorflow"))));`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as string[];
}

describe("tfjs bundle loading", () => {
  it("tfjs bundle - the ort training worker's modules load tfjs-core, never the @tensorflow/tfjs bundle (half a second per task)", () => {
    const tf = tfjsLoadedBy("training/ort/stepper.ts");
    assert.ok(tf.some((p) => p.includes("/@tensorflow/tfjs-core/")), `tfjs-core is loaded: ${tf.join(", ")}`);
    assert.deepEqual(tf.filter((p) => BUNDLE.test(p)), []);
  });

  it("tfjs bundle - the model service (CLI, coordinator, agents) loads it only when a tfjs Trainer is made", () => {
    assert.deepEqual(tfjsLoadedBy("index.ts").filter((p) => BUNDLE.test(p)), []);
    const withTrainer = tfjsLoadedBy("index.ts", `await m.initBackend("cpu"); new m.Trainer(m.createDetector(m.modelConfig("nano"), 1), m.trainOptionsFor("nano"));`);
    assert.ok(withTrainer.some((p) => BUNDLE.test(p)), "a tfjs Trainer registers the gradients from the bundle");
  });
});
