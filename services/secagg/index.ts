/**
 * Secure aggregation in the style of SecAgg+ (Bell et al., CCS 2020; Flower's secaggplus): the
 * coordinator learns the sum of the sites' fixed-point vectors and nothing else about any one of
 * them. The primitives are node:crypto's (X25519, HKDF-SHA256, AES-256-CTR as the PRG,
 * AES-256-GCM for the pairwise share transport) and an audited Shamir implementation
 * (shamir-secret-sharing, GF(2^8)); nothing here is cryptography of its own.
 *
 *   site i:   two X25519 key pairs: c (encrypts shares to neighbours), s (pairwise mask agreement)
 *             a 32-byte self-mask seed b_i; Shamir shares (threshold t) of b_i and of s_sk_i, one per
 *             neighbour, each AES-GCM-encrypted under HKDF(ECDH(c_sk_i, c_pk_j))
 *   masked:   y_i = x_i + PRG(b_i) + Σ_{j∈N(i), j>i} PRG(s_ij) − Σ_{j∈N(i), j<i} PRG(s_ij)   (mod 2^48)
 *   unmask:   Σ y_i over the survivors U3 − Σ PRG(b_i) (b_i rebuilt from t shares) ± the pairwise
 *             masks of sites that dropped after sharing (their s_sk rebuilt from t shares)
 *
 * Vectors are fixed point in the ring Z_{2^48}, held as float64 integers (exact below 2^53).
 */
import { createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from "node:crypto";
import { combine, split } from "shamir-secret-sharing";
import { ErrorCode, MedfclError } from "../errors/index.js";

/** Ring Z_{2^48}: a masked element is 6 bytes, and the sum of two stays exact in a float64. */
export const MODULUS_BITS = 48;
export const MODULUS = 2 ** MODULUS_BITS;
export const ELEMENT_BYTES = MODULUS_BITS / 8;
/** Fractional bits of the fixed-point encoding: a weighted value x is sent as round(x·2^24). */
export const DEFAULT_FRACTION_BITS = 24;

export class SecAggError extends MedfclError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(ErrorCode.FailedPrecondition, message, { details });
  }
}

// ---- keys ---------------------------------------------------------------------------------------

// DER prefixes of an X25519 SubjectPublicKeyInfo and PKCS#8 PrivateKeyInfo (RFC 8410), followed by the 32 raw bytes.
const SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");
const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

export interface KeyPair {
  publicKey: Buffer;
  privateKey: Buffer;
}

export function x25519KeyPair(): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync("x25519");
  return {
    publicKey: publicKey.export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length),
    privateKey: privateKey.export({ format: "der", type: "pkcs8" }).subarray(PKCS8_PREFIX.length),
  };
}

function publicKeyObject(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new SecAggError(`an X25519 public key is 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" });
}

function privateKeyObject(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new SecAggError(`an X25519 private key is 32 bytes, got ${raw.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: "der", type: "pkcs8" });
}

/** The public key of a raw private key (to check a reconstructed key against the one advertised). */
export function publicKeyOf(privateKey: Uint8Array): Buffer {
  return createPublicKey(privateKeyObject(privateKey)).export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length);
}

/** HKDF-SHA256 of the X25519 shared secret into a 32-byte key for one purpose (`info`). */
export function agreedKey(privateKey: Uint8Array, peerPublicKey: Uint8Array, info: string): Buffer {
  const secret = diffieHellman({ privateKey: privateKeyObject(privateKey), publicKey: publicKeyObject(peerPublicKey) });
  return Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), Buffer.from(info), 32));
}

// ---- PRG ----------------------------------------------------------------------------------------

/**
 * `length` uniform elements of Z_{2^48} from a 32-byte seed: AES-256-CTR (key = HKDF(seed,
 * "medfcl secagg prg"), zero IV) over zeros, read 6 bytes at a time, little endian.
 */
export function prgElements(seed: Uint8Array, length: number): Float64Array {
  const key = Buffer.from(hkdfSync("sha256", seed, Buffer.alloc(0), Buffer.from("medfcl secagg prg"), 32));
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  const stream = cipher.update(Buffer.alloc(length * ELEMENT_BYTES));
  const out = new Float64Array(length);
  for (let i = 0, o = 0; i < length; i++, o += ELEMENT_BYTES) out[i] = stream.readUIntLE(o, ELEMENT_BYTES);
  return out;
}

/** acc += sign·v (mod 2^48), in place. */
export function addMod(acc: Float64Array, v: Float64Array, sign: 1 | -1 = 1): void {
  if (acc.length !== v.length) throw new SecAggError(`vector lengths differ: ${acc.length} and ${v.length}`);
  for (let i = 0; i < acc.length; i++) {
    let x = sign === 1 ? acc[i] + v[i] : acc[i] - v[i];
    if (x >= MODULUS) x -= MODULUS;
    else if (x < 0) x += MODULUS;
    acc[i] = x;
  }
}

// ---- fixed point --------------------------------------------------------------------------------

/** Largest |x·2^f| a site may encode so that the sum of `sites` of them cannot wrap around 2^47. */
export function encodeBound(sites: number, fractionBits: number): number {
  return Math.floor(2 ** (MODULUS_BITS - 1) / Math.max(1, sites)) / 2 ** fractionBits;
}

/** round(x·2^f) as an element of Z_{2^48}; throws when |x| is over `bound` (the site's range check). */
export function encodeFixedPoint(values: Float64Array | Float32Array, fractionBits: number, bound: number): Float64Array {
  const scale = 2 ** fractionBits;
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v) || Math.abs(v) > bound) throw new SecAggError(`element ${i} is ${v}, outside the fixed-point range ±${bound}`, { element: i });
    const q = Math.round(v * scale);
    out[i] = q < 0 ? q + MODULUS : q;
  }
  return out;
}

/** The signed values of a sum of fixed-point elements. */
export function decodeFixedPoint(sum: Float64Array, fractionBits: number): Float64Array {
  const scale = 2 ** fractionBits;
  const out = new Float64Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = (sum[i] >= MODULUS / 2 ? sum[i] - MODULUS : sum[i]) / scale;
  return out;
}

export function elementsToBytes(v: Float64Array): Buffer {
  const out = Buffer.alloc(v.length * ELEMENT_BYTES);
  for (let i = 0; i < v.length; i++) out.writeUIntLE(v[i], i * ELEMENT_BYTES, ELEMENT_BYTES);
  return out;
}

export function bytesToElements(b: Uint8Array): Float64Array {
  if (b.length % ELEMENT_BYTES !== 0) throw new SecAggError(`a masked vector is a multiple of ${ELEMENT_BYTES} bytes, got ${b.length}`);
  const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
  const out = new Float64Array(b.length / ELEMENT_BYTES);
  for (let i = 0; i < out.length; i++) out[i] = buf.readUIntLE(i * ELEMENT_BYTES, ELEMENT_BYTES);
  return out;
}

// ---- the neighbour graph ------------------------------------------------------------------------

/**
 * SecAgg+'s sparse graph: participants on a ring, each joined to the `shares − 1` nearest (half on
 * each side), so a site masks with and shares to k = shares − 1 others, not all n − 1. With
 * shares ≥ n it is the complete graph (plain SecAgg).
 */
export function neighbours(participants: readonly string[], shares: number): Map<string, string[]> {
  const n = participants.length;
  const k = Math.min(n - 1, Math.max(1, shares - 1));
  const out = new Map<string, string[]>();
  participants.forEach((p, i) => {
    const nb = new Set<string>();
    for (let d = 1; nb.size < k; d++) {
      nb.add(participants[(i + d) % n]);
      if (nb.size < k) nb.add(participants[(i - d + n) % n]);
    }
    out.set(p, [...nb].sort((a, b) => participants.indexOf(a) - participants.indexOf(b)));
  });
  return out;
}

/** SecAgg+'s defaults: about 2·log2(n)+1 shares (every site when n is small), majority threshold. */
export function defaultShares(n: number): { shares: number; threshold: number } {
  const shares = Math.min(n, 2 * Math.ceil(Math.log2(Math.max(2, n))) + 1);
  return { shares, threshold: Math.floor(shares / 2) + 1 };
}

// ---- shares -------------------------------------------------------------------------------------

/** What a site shares: its self-mask seed and its mask secret key, each split t-of-(k+1). */
export type SecretKind = "self-mask-seed" | "mask-key";

/** Shamir shares of `secret` for each holder (the site itself included), t needed to rebuild it. */
export async function shareSecret(secret: Uint8Array, holders: readonly string[], threshold: number): Promise<Map<string, Buffer>> {
  if (threshold < 2 || threshold > holders.length) throw new SecAggError(`threshold ${threshold} must be between 2 and the ${holders.length} holders`);
  const parts = await split(Uint8Array.from(secret), holders.length, threshold);
  return new Map(holders.map((h, i) => [h, Buffer.from(parts[i])]));
}

/**
 * Rebuilds a secret from shares. Shamir cannot tell too few shares from enough (it returns some
 * other value), so the caller names the threshold, and `check` verifies the result (a commitment
 * or the advertised public key).
 */
export async function rebuildSecret(shares: Uint8Array[], threshold: number, what: string, check: (secret: Buffer) => boolean): Promise<Buffer> {
  if (shares.length < threshold) throw new SecAggError(`${what}: ${shares.length} shares arrived, the threshold is ${threshold}`, { shares: shares.length, threshold });
  const secret = Buffer.from(await combine(shares.map((s) => Uint8Array.from(s))));
  if (!check(secret)) throw new SecAggError(`${what}: the rebuilt secret does not match what the site committed to (a share is corrupt)`);
  return secret;
}

export function commitment(secret: Uint8Array): string {
  return createHash("sha256").update("medfcl secagg commitment").update(secret).digest("hex");
}

// ---- pairwise share transport ---------------------------------------------------------------

/** What a share's ciphertext is bound to, so it cannot be replayed to another round, pair or kind. */
export function shareContext(roundKey: string, from: string, to: string): Buffer {
  return Buffer.from(`medfcl secagg share|${roundKey}|${from}|${to}`);
}

/** AES-256-GCM under HKDF(ECDH(c)): nonce (12) ‖ tag (16) ‖ ciphertext. */
export function sealShare(key: Buffer, plaintext: Buffer, context: Buffer): Buffer {
  const nonce = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", key, nonce);
  c.setAAD(context);
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([nonce, c.getAuthTag(), body]);
}

export function openShare(key: Buffer, sealed: Uint8Array, context: Buffer): Buffer {
  const b = Buffer.from(sealed);
  if (b.length < 28) throw new SecAggError("a sealed share is at least 28 bytes");
  const d = createDecipheriv("aes-256-gcm", key, b.subarray(0, 12));
  d.setAAD(context);
  d.setAuthTag(b.subarray(12, 28));
  try {
    return Buffer.concat([d.update(b.subarray(28)), d.final()]);
  } catch (err) {
    throw new SecAggError(`a share does not authenticate (${(err as Error).message}): it was altered, or sealed for another round or site`);
  }
}

// ---- the pairwise masks -------------------------------------------------------------------------

/** The PRG seed of the pair (i, j): HKDF of their s-key agreement, the same from both ends. */
export function pairSeed(ownMaskKey: Uint8Array, peerMaskPublicKey: Uint8Array, roundKey: string): Buffer {
  return agreedKey(ownMaskKey, peerMaskPublicKey, `medfcl secagg pair mask|${roundKey}`);
}

/** +1 when `site` comes before `peer` among the participants (it adds the pair's mask), −1 otherwise. */
export function pairSign(participants: readonly string[], site: string, peer: string): 1 | -1 {
  return participants.indexOf(site) < participants.indexOf(peer) ? 1 : -1;
}
