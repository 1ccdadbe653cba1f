import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { ModelOptionError, modelFamily, modelFamilyNames, registerModelFamily, type ModelFamily } from "../../../../services/model/index.js";

describe("model-family registry", () => {
  it("families - a registered family is found by name until removed; a taken or malformed name is refused naming the field", () => {
    const family: ModelFamily = { ...modelFamily("nano"), name: "test-family", summary: "a copy of nano under another name" };
    const remove = registerModelFamily(family);
    try {
      assert.equal(modelFamily("test-family"), family);
      assert.ok(modelFamilyNames().includes("test-family"));
      assert.throws(() => registerModelFamily(family), (err: unknown) => err instanceof ModelOptionError && /already registered/.test((err as Error).message));
    } finally {
      remove();
    }
    assert.ok(!modelFamilyNames().includes("test-family"), "removed again");
    assert.throws(() => registerModelFamily({ ...family, name: "Bad Name" }), /must be 1–40 lowercase letters/);
  });

  it("families - an unknown model is refused with the registered names", () => {
    assert.throws(() => modelFamily("yolo"), (err: unknown) => err instanceof ModelOptionError && /"yolo" is not a model; use one of nano, small, yolox-nano/.test((err as Error).message));
  });
});
