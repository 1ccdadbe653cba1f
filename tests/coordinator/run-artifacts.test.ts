import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { orderDomains, replaySummary } from "../../coordinator/run-artifacts.js";

describe("run artifacts", () => {
  it("run artifacts - replaySummary counts requested and received exemplars per asking step", () => {
    const tasks = [
      { taskId: "t0", step: 0, exemplarsWanted: 100 },
      { taskId: "t1", step: 1, exemplarsWanted: 100 },
      { taskId: "t2", step: 2, exemplarsWanted: 0 }, // the last step asks for none
    ];
    assert.deepEqual(replaySummary(tasks, ["t0", "t0", "t0", "t1"]), { requested: 200, received: 4, received_per_step: { "0": 3, "1": 1 } });
    // Asked and got nothing: the steps that asked are listed with 0, so the empty buffer shows.
    assert.deepEqual(replaySummary(tasks, []), { requested: 200, received: 0, received_per_step: { "0": 0, "1": 0 } });
    // A strategy that never asks (sequential) has nothing to report; exemplars of unknown tasks are not counted.
    assert.deepEqual(replaySummary([{ taskId: "s0", step: 0, exemplarsWanted: 0 }], ["elsewhere"]), { requested: 0, received: 0, received_per_step: {} });
  });

  it("run artifacts - orderDomains puts the trained domains first, in step order, once each", () => {
    assert.deepEqual(orderDomains(["b", "a", "b"], ["a", "b", "c", "x"]), ["b", "a", "c", "x"]);
    assert.deepEqual(orderDomains(["gone"], ["a"]), ["a"]);
  });
});
