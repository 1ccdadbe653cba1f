/**
 * Median ms per nano forward pass (raw outputs, batch 8, 128 px): onnxruntime-node on 1 and 2
 * intra-op threads against tfjs-wasm, same weights, same run. Run: npx tsx bench/infer.ts [iters]
 */
import { createDetector, createOnnxDetector, encodeCaption, exportOnnx, initBackend, modelConfig, runTfjs } from "../services/model/index.js";

const iters = Number(process.argv[2] ?? 20);
const batch = 8;
const cfg = modelConfig("nano");

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  const t: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

await initBackend("wasm");
const det = createDetector(cfg, 1);
const caption = encodeCaption([{ id: 1, name: "polyp", prompt: { prefix: "", name: "pink yellow red color oval bump", suffix: " in rectum" } }], cfg);
let seed = 3;
const images = Float32Array.from({ length: batch * cfg.inputSize * cfg.inputSize * 3 }, () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32));
const tfjs = await time(() => runTfjs(det, images, batch, caption));
const onnx = exportOnnx(cfg, det.getWeights());
const rows: [string, number][] = [["tfjs-wasm (1 thread, SIMD)", tfjs]];
for (const threads of [1, 2]) {
  const o = await createOnnxDetector(onnx, cfg, { threads });
  rows.push([`onnxruntime-node ${threads} thread${threads > 1 ? "s" : ""}`, await time(() => o.runRaw(images, batch, caption))]);
  await o.close();
}
det.dispose();
console.log(`nano forward (raw outputs), batch ${batch}, ${cfg.inputSize}px, median of ${iters}`);
console.log("| engine | ms/batch | images/s | speed-up vs tfjs-wasm |");
console.log("|---|---:|---:|---:|");
for (const [name, ms] of rows) console.log(`| ${name} | ${ms.toFixed(1)} | ${((batch * 1000) / ms).toFixed(1)} | ${(tfjs / ms).toFixed(2)}× |`);
