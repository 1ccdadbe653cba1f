import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { parseReplaySampler, sampleReplay, type ReplayItem } from "../../../services/replay/index.js";

const pool: ReplayItem[] = [
  ...Array.from({ length: 90 }, (_, i) => ({ id: `big${i}`, domain: "big", categoryIds: [1], order: i })),
  ...Array.from({ length: 10 }, (_, i) => ({ id: `small${i}`, domain: "small", categoryIds: [1], order: 90 + i })),
];

describe("replay samplers", () => {
  for (const sampler of ["random", "reservoir", "class-balanced"] as const) {
    it(`replay - ${sampler} is deterministic, sized, and without repeats`, () => {
      const a = sampleReplay(pool, 20, sampler, 5).map((x) => x.id);
      assert.deepEqual(sampleReplay(pool, 20, sampler, 5).map((x) => x.id), a);
      assert.notDeepEqual(sampleReplay(pool, 20, sampler, 6).map((x) => x.id), a);
      assert.equal(a.length, 20);
      assert.equal(new Set(a).size, 20);
    });
  }

  it("replay - class-balanced gives a small domain an equal share", () => {
    const picked = sampleReplay(pool, 20, "class-balanced", 1);
    assert.equal(picked.filter((x) => x.domain === "small").length, 10);
  });

  it("replay - a buffer larger than the pool takes the whole pool; an empty pool gives nothing", () => {
    assert.equal(sampleReplay(pool, 500, "random", 1).length, 100);
    assert.deepEqual(sampleReplay([], 10, "reservoir", 1), []);
  });

  it("replay - an unknown sampler is refused with the field named", () => {
    assert.throws(() => parseReplaySampler("herding", "options.sampler"), /options\.sampler/);
  });
});
