import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import {
  addMod,
  agreedKey,
  bytesToElements,
  decodeFixedPoint,
  defaultShares,
  elementsToBytes,
  encodeFixedPoint,
  MODULUS,
  neighbours,
  prgElements,
  publicKeyOf,
  rebuildSecret,
  SecAggError,
  shareSecret,
  x25519KeyPair,
} from "../../../services/secagg/index.js";
import { SecAggSite, unmaskSum, type SecAggRoundConfig } from "../../../services/secagg/protocol.js";

// RFC 7748 §6.1: Alice's and Bob's X25519 keys and their shared secret.
const RFC7748 = {
  alicePrivate: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
  alicePublic: "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
  bobPublic: "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
};

/** One whole round in memory: who sends a masked vector, who reveals; the decoded sum or the error. */
async function round(opts: { sites: number; threshold: number; masks: (i: number) => boolean; reveals: (i: number) => boolean; length?: number }) {
  const P = Array.from({ length: opts.sites }, (_, i) => `site-${i}`);
  const config: SecAggRoundConfig = { roundKey: "run/0/0", participants: P, neighbours: Object.fromEntries(neighbours(P, P.length)), threshold: opts.threshold, fractionBits: 24 };
  const sites = P.map((p) => new SecAggSite(p, config));
  const keys = new Map(P.map((p, i) => [p, sites[i].keys()]));
  const sealed = (await Promise.all(sites.map((s) => s.share(keys)))).flat();
  sites.forEach((s) => s.receive(sealed.filter((x) => x.to === s.site)));
  const L = opts.length ?? 2000;
  const xs = P.map((_, i) => Float64Array.from({ length: L }, (_, k) => Math.sin(i * 7 + k) * 0.01 * (i + 1)));
  const survivors = P.filter((_, i) => opts.masks(i));
  const dropped = P.filter((_, i) => !opts.masks(i));
  const maskedSum = new Float64Array(L);
  const masked: Buffer[] = [];
  for (const p of survivors) {
    const bytes = sites[P.indexOf(p)].mask(xs[P.indexOf(p)]);
    masked.push(bytes);
    addMod(maskedSum, bytesToElements(bytes));
  }
  const reveals = sites.filter((_, i) => opts.reveals(i) && opts.masks(i)).flatMap((s) => s.reveal(survivors, dropped));
  const expected = new Float64Array(L);
  for (const p of survivors) xs[P.indexOf(p)].forEach((v, k) => (expected[k] += v));
  const sum = await unmaskSum({ config, maskedSum, survivors, dropped, keys, sharedWith: new Map(sites.map((s) => [s.site, s.holds()])), reveals });
  return { sum, expected, masked };
}

const maxAbsDiff = (a: Float64Array, b: Float64Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe("secagg - primitives", () => {
  it("secagg - X25519 agreement matches RFC 7748's test vector and is the same from both ends", () => {
    const alice = Buffer.from(RFC7748.alicePrivate, "hex");
    assert.equal(publicKeyOf(alice).toString("hex"), RFC7748.alicePublic);
    const a = x25519KeyPair();
    const b = x25519KeyPair();
    assert.deepEqual(agreedKey(a.privateKey, b.publicKey, "t"), agreedKey(b.privateKey, a.publicKey, "t"));
    assert.notDeepEqual(agreedKey(a.privateKey, b.publicKey, "t"), agreedKey(a.privateKey, b.publicKey, "u"), "HKDF info separates purposes");
  });

  it("secagg - Shamir: any t of n shares rebuild the secret; t − 1 are refused by count, a wrong set by the commitment", async () => {
    const secret = Buffer.from("0123456789abcdef0123456789abcdef");
    const shares = await shareSecret(secret, ["a", "b", "c", "d", "e"], 3);
    const ok = (s: Buffer) => s.equals(secret);
    assert.deepEqual(await rebuildSecret([shares.get("a")!, shares.get("c")!, shares.get("e")!], 3, "x", ok), secret);
    assert.deepEqual(await rebuildSecret([shares.get("b")!, shares.get("d")!, shares.get("e")!, shares.get("a")!], 3, "x", ok), secret);
    await assert.rejects(rebuildSecret([shares.get("a")!, shares.get("b")!], 3, "the self mask of e", ok), /the self mask of e: 2 shares arrived, the threshold is 3/);
    const tampered = Buffer.from(shares.get("c")!);
    tampered[0] ^= 1;
    await assert.rejects(rebuildSecret([shares.get("a")!, shares.get("b")!, tampered], 3, "x", ok), /does not match what the site committed to/);
  });

  it("secagg - the PRG is deterministic per seed, differs across seeds, and its bytes look uniform (chi-square)", () => {
    const a = prgElements(Buffer.alloc(32, 1), 50_000);
    assert.deepEqual(a, prgElements(Buffer.alloc(32, 1), 50_000));
    assert.notDeepEqual(a.subarray(0, 8), prgElements(Buffer.alloc(32, 2), 8));
    assert.ok(a.every((v) => Number.isInteger(v) && v >= 0 && v < MODULUS));
    const bytes = elementsToBytes(a);
    const counts = new Array(256).fill(0);
    for (const b of bytes) counts[b]++;
    const e = bytes.length / 256;
    const chi2 = counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
    assert.ok(chi2 < 330.5, `chi-square ${chi2.toFixed(1)} over 255 degrees of freedom (p = 0.001 bound 330.5)`);
  });

  it("secagg - fixed point: encode/decode round-trips within 2^-25, a value over the range or not finite is refused", () => {
    const v = Float64Array.from([0, 1e-7, -3.25, 1234.5678, -0.0001]);
    const back = decodeFixedPoint(encodeFixedPoint(v, 24, 1e4), 24);
    assert.ok(maxAbsDiff(v, back) <= 2 ** -25);
    assert.throws(() => encodeFixedPoint(Float64Array.from([2e4]), 24, 1e4), SecAggError);
    assert.throws(() => encodeFixedPoint(Float64Array.from([Number.NaN]), 24, 1e4), /element 0 is NaN/);
  });

  it("secagg - the SecAgg+ graph: each site has min(n − 1, shares − 1) neighbours and the relation is symmetric", () => {
    for (const n of [5, 20, 50]) {
      const P = Array.from({ length: n }, (_, i) => `s${i}`);
      const { shares, threshold } = defaultShares(n);
      const g = neighbours(P, shares);
      for (const [p, nb] of g) {
        assert.equal(nb.length, Math.min(n - 1, shares - 1));
        for (const q of nb) assert.ok(g.get(q)!.includes(p), `${p}–${q} is symmetric`);
      }
      assert.ok(threshold > shares / 2);
    }
    assert.deepEqual(defaultShares(5), { shares: 5, threshold: 3 });
  });
});

describe("secagg - one round, 5 sites, threshold 3", () => {
  it("secagg - every site survives: the unmasked sum equals the plain sum within fixed-point error", async () => {
    const { sum, expected } = await round({ sites: 5, threshold: 3, masks: () => true, reveals: () => true });
    const err = maxAbsDiff(sum, expected);
    assert.ok(err <= 5 * 2 ** -25, `max |Δ| ${err}`);
  });

  it("secagg - one or two sites killed after masking (they never reveal): the sum of all five is still correct", async () => {
    for (const killed of [[4], [1, 3]]) {
      const { sum, expected } = await round({ sites: 5, threshold: 3, masks: () => true, reveals: (i) => !killed.includes(i) });
      assert.ok(maxAbsDiff(sum, expected) <= 5 * 2 ** -25, `killed ${killed}`);
    }
  });

  it("secagg - a site that dropped after sharing: its pairwise masks are removed through its rebuilt key", async () => {
    const { sum, expected } = await round({ sites: 5, threshold: 3, masks: (i) => i !== 2, reveals: () => true });
    assert.ok(maxAbsDiff(sum, expected) <= 4 * 2 ** -25);
  });

  it("secagg - three sites killed after masking: fewer than t shares remain and the round fails, naming the threshold", async () => {
    await assert.rejects(round({ sites: 5, threshold: 3, masks: () => true, reveals: (i) => i < 2 }), /2 shares arrived, the threshold is 3/);
  });

  it("secagg - one masked vector alone is uniform bytes (chi-square), and a site never reveals both secrets of one site", async () => {
    const { masked } = await round({ sites: 5, threshold: 3, masks: () => true, reveals: () => true, length: 60_000 });
    const counts = new Array(256).fill(0);
    for (const b of masked[0]) counts[b]++;
    const e = masked[0].length / 256;
    const chi2 = counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
    assert.ok(chi2 < 330.5, `chi-square ${chi2.toFixed(1)}`);
    const P = ["a", "b", "c"];
    const s = new SecAggSite("a", { roundKey: "k", participants: P, neighbours: Object.fromEntries(neighbours(P, 3)), threshold: 2, fractionBits: 24 });
    assert.throws(() => s.reveal(["b"], ["b"]), /named both survivor and dropped/);
  });
});
