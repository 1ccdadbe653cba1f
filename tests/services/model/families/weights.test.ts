import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { BaseWeightsError, baseModelInfo, cachedWeightsPath, fetchBaseWeights, loadBaseWeights } from "../../../../services/model/index.js";
import { haveShared, YOLOX_NANO_ONNX } from "../../../helpers/shared.js";
import { tempDir } from "../../../helpers/temp.js";

const env = (): NodeJS.ProcessEnv => ({ MEDFCL_CACHE: tempDir("medfcl-cache-") });

describe("base weights without a copy", () => {
  it("weights - offline fetch names the URL, the --from flag and the cache variable", async () => {
    const e = env();
    await assert.rejects(fetchBaseWeights("yolox-nano", { env: e, url: "http://127.0.0.1:9/yolox_nano.onnx" }), (err: Error) => {
      assert.ok(err instanceof BaseWeightsError);
      for (const s of ["http://127.0.0.1:9/yolox_nano.onnx", "--from FILE", "MEDFCL_CACHE", "MEDFCL_BASE_WEIGHTS"]) assert.ok(err.message.includes(s), `missing "${s}" in: ${err.message}`);
      return true;
    });
  });

  it("weights - a command that needs the base and finds no copy says how to get one", async () => {
    await assert.rejects(loadBaseWeights("yolox-nano", undefined, env()), (err: Error) => /medfcl model fetch yolox-nano/.test(err.message) && /--base-weights/.test(err.message) && err.message.includes(baseModelInfo("yolox-nano").url));
  });

  it("weights - a file with another digest is refused, naming both digests", async () => {
    const dir = tempDir("medfcl-w-");
    const fake = join(dir, "yolox_nano.onnx");
    writeFileSync(fake, "not the weights");
    const e = env();
    await assert.rejects(fetchBaseWeights("yolox-nano", { from: fake, env: e }), (err: Error) => err.message.includes(baseModelInfo("yolox-nano").sha256) && /sha256 is [0-9a-f]{64}/.test(err.message) && err.message.includes(fake));
    await assert.rejects(loadBaseWeights("yolox-nano", fake, e), /sha256 is/);
  });

  it("weights - an unknown base model is refused with the known ones", async () => {
    await assert.rejects(fetchBaseWeights("resnet-9000", { env: env() }), /yolox-nano/);
  });
});

describe("base weights from the published file", () => {
  if (!haveShared("weights fetch", [YOLOX_NANO_ONNX()])) return;
  let server: Server;
  let url = "";
  let hits = 0;
  before(async () => {
    const bytes = readFileSync(YOLOX_NANO_ONNX());
    server = createServer((req, res) => {
      hits++;
      if (req.url !== "/yolox_nano.onnx") return void res.writeHead(404).end();
      res.writeHead(200, { "content-length": String(bytes.length) }).end(bytes);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/yolox_nano.onnx`;
  });
  after(() => server.close());

  it("weights - downloads once over HTTP, verifies the sha256, then serves from the cache", async () => {
    const e = env();
    let progress = 0;
    const first = await fetchBaseWeights("yolox-nano", { env: e, url, onProgress: (got) => (progress = got) });
    assert.equal(first.source, "download");
    assert.equal(first.path, cachedWeightsPath("yolox-nano", e));
    assert.equal(progress, baseModelInfo("yolox-nano").bytes);
    const before = hits;
    const second = await fetchBaseWeights("yolox-nano", { env: e, url });
    assert.equal(second.source, "cache");
    assert.equal(hits, before, "no second download");
    assert.equal((await loadBaseWeights("yolox-nano", undefined, e)).length, baseModelInfo("yolox-nano").bytes);
  });

  it("weights - a corrupted cache entry is downloaded again, not used", async () => {
    const e = env();
    await fetchBaseWeights("yolox-nano", { env: e, from: YOLOX_NANO_ONNX() });
    writeFileSync(cachedWeightsPath("yolox-nano", e), "corrupt");
    await assert.rejects(loadBaseWeights("yolox-nano", undefined, e), /sha256 is/);
    const again = await fetchBaseWeights("yolox-nano", { env: e, url });
    assert.equal(again.source, "download");
  });
});
