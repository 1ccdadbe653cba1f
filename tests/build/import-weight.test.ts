// The coordinator's domain, wire and store modules are what the transport layer, the CLI's light
// commands and every test of the protocol load. They must not pull in the model runtimes (tfjs,
// onnxruntime-node: seconds of start-up and hundreds of MB), which only training and evaluation need.
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
// @ts-expect-error: a plain .mjs module without types, shared with scripts/check-cycles.mjs
import { staticClosure } from "../../scripts/lib/import-graph.mjs";

type Closure = { modules: string[]; packages: Map<string, string[]> };
const closure = staticClosure as (entries: string[]) => Closure;
const RUNTIMES = /^(@tensorflow\/|onnxruntime-node$)/;

const heavy = (c: Closure): string[] => [...c.packages].filter(([p]) => RUNTIMES.test(p)).map(([p, chain]) => `${p} <- ${chain.join(" -> ")}`);

describe("import weight", () => {
  it("imports - coordinator/domain, wire and store load neither tfjs nor onnxruntime-node", () => {
    const c = closure(["coordinator/domain.ts", "coordinator/wire.ts", "coordinator/store/index.ts", "services/transport/enums.ts"]);
    assert.deepEqual(heavy(c), []);
  });

  it("imports - services/model/io (safetensors, checkpoints, deltas) loads neither tfjs nor onnxruntime-node", () => {
    const c = closure(["services/model/io/index.ts"]);
    assert.deepEqual(heavy(c), []);
  });

  it("imports - the check sees a runtime that is loaded (the model barrel loads both)", () => {
    const found = heavy(closure(["services/model/index.ts"])).map((l) => l.split(" <- ")[0]);
    assert.ok(found.includes("onnxruntime-node") && found.some((p) => p.startsWith("@tensorflow/")), found.join(", "));
  });
});
