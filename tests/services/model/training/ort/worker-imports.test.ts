import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";

const stepper = fileURLToPath(new URL("../../../../../services/model/training/ort/stepper.ts", import.meta.url));

describe("ort training worker imports", () => {
  it("ort worker - the trainer's modules load tfjs-core, never the @tensorflow/tfjs bundle (a quarter second per task)", () => {
    // A fresh process imports what the worker imports, then lists the CommonJS modules loaded.
    const script = `await import(${JSON.stringify(stepper)});
      const { createRequire } = await import("node:module");
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify(loaded.filter((p) => p.includes("@tensorflow"))));`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const tf = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as string[];
    assert.ok(tf.some((p) => p.includes("/@tensorflow/tfjs-core/")), `tfjs-core is loaded: ${tf.join(", ")}`);
    assert.deepEqual(tf.filter((p) => /\/@tensorflow\/tfjs\/|tfjs-layers|tfjs-converter|tfjs-backend-webgl/.test(p)), []);
  });
});
