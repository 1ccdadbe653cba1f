/**
 * Cost of secure aggregation (SecAgg+, services/secagg) against plain FedAvg, per round, for 5,
 * 20 and 50 simulated sites on the nano model's parameter count. Sites and coordinator run in this
 * one process, in memory (no network): the bytes are what each message would carry on the wire,
 * the times are each party's computation. Plain FedAvg is measured in the same run: fp32 deltas
 * (4 bytes per weight) and the weighted mean.
 *
 * Columns: bytes a site sends (keys + sealed shares + masked vector + revealed shares) and the
 * ratio to its fp32 delta; site compute (share + mask + reveal, mean per site); coordinator compute
 * (sum + unmask + decode); wall per round = the slowest site's compute (sites run in parallel) +
 * the coordinator's; ratio to plain FedAvg's coordinator time.
 *
 * Run: npx tsx bench/secagg.ts [sites=5,20,50] [weights=194369]
 */
import { addMod, bytesToElements, defaultShares, neighbours } from "../services/secagg/index.js";
import { SecAggSite, unmaskSum, type SecAggRoundConfig } from "../services/secagg/protocol.js";
import { weightedMeanDeltas } from "../coordinator/strategies/utils.js";
import type { TensorMap } from "../services/tensors/index.js";

const counts = (process.argv[2] ?? "5,20,50").split(",").map(Number);
const weights = Number(process.argv[3] ?? "194369");

interface Row {
  sites: number;
  shares: number;
  threshold: number;
  siteBytes: number;
  plainBytes: number;
  siteMs: number;
  siteMaxMs: number;
  coordMs: number;
  plainCoordMs: number;
  maxAbsErr: number;
}

async function measure(n: number): Promise<Row> {
  const P = Array.from({ length: n }, (_, i) => `site-${i}`);
  const { shares, threshold } = defaultShares(n);
  const config: SecAggRoundConfig = { roundKey: `bench/${n}`, participants: P, neighbours: Object.fromEntries(neighbours(P, shares)), threshold, fractionBits: 24 };
  const data = P.map((_, i) => Float32Array.from({ length: weights }, (_, k) => 1e-3 * Math.sin(k * 0.37 + i * 1.9)));
  const samples = P.map((_, i) => 10 + i);
  const total = samples.reduce((a, b) => a + b, 0);
  const sites = P.map((p) => new SecAggSite(p, config));
  const siteMs = new Array(n).fill(0);
  const timed = async <T>(i: number, f: () => T | Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const r = await f();
    siteMs[i] += performance.now() - t0;
    return r;
  };
  const keys = new Map(P.map((p, i) => [p, sites[i].keys()]));
  const sealed = (await Promise.all(sites.map((s, i) => timed(i, () => s.share(keys))))).flat();
  for (const [i, s] of sites.entries()) await timed(i, () => s.receive(sealed.filter((x) => x.to === s.site)));
  const masked: Buffer[] = [];
  for (const [i, s] of sites.entries()) {
    const w = samples[i] / total;
    const v = new Float64Array(weights + 1);
    for (let k = 0; k < weights; k++) v[k] = w * data[i][k];
    v[weights] = w;
    masked.push(await timed(i, () => s.mask(v)));
  }
  const reveals = [];
  for (const [i, s] of sites.entries()) reveals.push(...(await timed(i, () => s.reveal(P, []))));
  const t0 = performance.now();
  const sum = new Float64Array(weights + 1);
  for (const m of masked) addMod(sum, bytesToElements(m));
  const out = await unmaskSum({ config, maskedSum: sum, survivors: P, dropped: [], keys, sharedWith: new Map(sites.map((s) => [s.site, s.holds()])), reveals });
  const mean = new Float64Array(weights);
  for (let k = 0; k < weights; k++) mean[k] = out[k] / out[weights];
  const coordMs = performance.now() - t0;
  // Plain FedAvg of the same deltas, in the same run.
  const updates = P.map((p, i) => ({ siteId: p, numSamples: samples[i], delta: new Map([["w", { dtype: "float32" as const, shape: [weights], data: data[i] }]]) as TensorMap }));
  const t1 = performance.now();
  const plain = weightedMeanDeltas(updates).get("w")!.data;
  const plainCoordMs = performance.now() - t1;
  let maxAbsErr = 0;
  for (let k = 0; k < weights; k++) maxAbsErr = Math.max(maxAbsErr, Math.abs(mean[k] - plain[k]));
  const perSiteShares = sealed.filter((x) => x.from === P[0]).reduce((a, x) => a + x.ciphertext.length + 2 * 16, 0);
  const perSiteReveals = reveals.filter((x) => x.from === P[0]).reduce((a, x) => a + x.share.length + 16, 0);
  return {
    sites: n,
    shares,
    threshold,
    siteBytes: 2 * 32 + 64 + perSiteShares + masked[0].length + perSiteReveals,
    plainBytes: 4 * weights,
    siteMs: siteMs.reduce((a, b) => a + b, 0) / n,
    siteMaxMs: Math.max(...siteMs),
    coordMs,
    plainCoordMs,
    maxAbsErr,
  };
}

const rows: Row[] = [];
for (const n of counts) rows.push(await measure(n));
const f = (x: number, d = 0): string => x.toFixed(d);
process.stdout.write(`\nsecure aggregation (SecAgg+) vs plain FedAvg, ${weights} weights, all sites surviving; in-process, no network\n\n`);
process.stdout.write("| sites | shares (k+1) | t | bytes a site sends | × its fp32 delta | site compute ms (mean / max) | coordinator ms | wall per round ms | × plain FedAvg coordinator | max abs Δ vs plain |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
for (const r of rows) {
  process.stdout.write(`| ${r.sites} | ${r.shares} | ${r.threshold} | ${r.siteBytes} | ${f(r.siteBytes / r.plainBytes, 3)} | ${f(r.siteMs)} / ${f(r.siteMaxMs)} | ${f(r.coordMs)} | ${f(r.siteMaxMs + r.coordMs)} | ${f(r.coordMs / r.plainCoordMs, 1)} | ${r.maxAbsErr.toExponential(2)} |\n`);
}
