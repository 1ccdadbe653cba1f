/**
 * The two ends of one SecAgg+ round, without transport: `SecAggSite` is what a site computes,
 * `unmaskSum` what the coordinator computes from what it was sent. The coordinator and the agent
 * move these messages over gRPC (proto: SecAgg*), the bench in memory.
 */
import { randomBytes } from "node:crypto";
import {
  addMod,
  agreedKey,
  commitment,
  decodeFixedPoint,
  elementsToBytes,
  encodeBound,
  encodeFixedPoint,
  openShare,
  pairSeed,
  pairSign,
  prgElements,
  publicKeyOf,
  rebuildSecret,
  sealShare,
  SecAggError,
  shareContext,
  shareSecret,
  x25519KeyPair,
  type KeyPair,
  type SecretKind,
} from "./index.js";

/** A round as every party sees it (TrainTask.secure_aggregation). */
export interface SecAggRoundConfig {
  roundKey: string;
  /** Every site of the round, in the order that decides the pairwise mask signs. */
  participants: string[];
  /** Each participant's neighbours (SecAgg+ graph). */
  neighbours: Record<string, string[]>;
  threshold: number;
  fractionBits: number;
}

export interface AdvertisedKeys {
  encryptionPublicKey: Buffer;
  maskPublicKey: Buffer;
  /** sha256 commitment to the self-mask seed, so a rebuilt seed can be checked. */
  selfMaskCommitment: string;
}

export interface SealedShare {
  from: string;
  to: string;
  ciphertext: Buffer;
}

export interface RevealedShare {
  from: string;
  of: string;
  kind: SecretKind;
  share: Buffer;
}

const SHARE_BYTES = 33; // shamir-secret-sharing: 32 bytes of secret + the x coordinate

const encKey = (own: KeyPair, peer: Uint8Array, roundKey: string): Buffer => agreedKey(own.privateKey, peer, `medfcl secagg share key|${roundKey}`);

export class SecAggSite {
  readonly #enc = x25519KeyPair();
  readonly #mask = x25519KeyPair();
  readonly #seed = randomBytes(32);
  #peers = new Map<string, { encryptionPublicKey: Buffer; maskPublicKey: Buffer }>();
  /** Shares this site holds of each sender's secrets (its own included), by sender. */
  readonly #held = new Map<string, { seed: Buffer; key: Buffer }>();
  #revealed = false;

  constructor(
    readonly site: string,
    readonly config: SecAggRoundConfig,
  ) {
    if (!config.participants.includes(site)) throw new SecAggError(`site ${site} is not a participant of round ${config.roundKey}`);
  }

  keys(): AdvertisedKeys {
    return { encryptionPublicKey: this.#enc.publicKey, maskPublicKey: this.#mask.publicKey, selfMaskCommitment: commitment(this.#seed) };
  }

  /**
   * Shares of the self-mask seed and the mask key for this site and each neighbour that advertised
   * keys; at least `threshold` holders are needed, or the round cannot protect this site.
   */
  async share(peers: Map<string, { encryptionPublicKey: Buffer; maskPublicKey: Buffer }>): Promise<SealedShare[]> {
    const mine = this.config.neighbours[this.site] ?? [];
    this.#peers = new Map([...peers].filter(([p]) => mine.includes(p)));
    const holders = [this.site, ...this.#peers.keys()];
    if (holders.length < this.config.threshold) throw new SecAggError(`only ${holders.length} holders for this site's shares (threshold ${this.config.threshold}); too many neighbours are gone`);
    const seedShares = await shareSecret(this.#seed, holders, this.config.threshold);
    const keyShares = await shareSecret(this.#mask.privateKey, holders, this.config.threshold);
    this.#held.set(this.site, { seed: seedShares.get(this.site)!, key: keyShares.get(this.site)! });
    return [...this.#peers].map(([to, k]) => ({
      from: this.site,
      to,
      ciphertext: sealShare(encKey(this.#enc, k.encryptionPublicKey, this.config.roundKey), Buffer.concat([seedShares.get(to)!, keyShares.get(to)!]), shareContext(this.config.roundKey, this.site, to)),
    }));
  }

  /** The shares addressed to this site; their senders are the neighbours it masks with. */
  receive(shares: SealedShare[]): void {
    for (const s of shares) {
      const peer = this.#peers.get(s.from);
      if (s.to !== this.site || !peer) throw new SecAggError(`a share from ${s.from} to ${s.to} is not for this site's neighbourhood`);
      const plain = openShare(encKey(this.#enc, peer.encryptionPublicKey, this.config.roundKey), s.ciphertext, shareContext(this.config.roundKey, s.from, this.site));
      if (plain.length !== 2 * SHARE_BYTES) throw new SecAggError(`a share from ${s.from} is ${plain.length} bytes, not ${2 * SHARE_BYTES}`);
      this.#held.set(s.from, { seed: plain.subarray(0, SHARE_BYTES), key: plain.subarray(SHARE_BYTES) });
    }
  }

  /** y = x + PRG(b) ± Σ PRG(s_ij) over the neighbours that shared with this site, as 6-byte elements. */
  mask(values: Float64Array): Buffer {
    const bound = encodeBound(this.config.participants.length, this.config.fractionBits);
    const y = encodeFixedPoint(values, this.config.fractionBits, bound);
    addMod(y, prgElements(this.#seed, y.length));
    for (const peer of this.#held.keys()) {
      if (peer === this.site) continue;
      const seed = pairSeed(this.#mask.privateKey, this.#peers.get(peer)!.maskPublicKey, this.config.roundKey);
      addMod(y, prgElements(seed, y.length), pairSign(this.config.participants, this.site, peer));
    }
    return elementsToBytes(y);
  }

  /**
   * For each survivor, its self-mask seed share; for each site that dropped after sharing, its
   * mask-key share. Never both for one site (that would unmask it), and only once.
   */
  reveal(survivors: string[], dropped: string[]): RevealedShare[] {
    if (this.#revealed) throw new SecAggError("this site has already revealed its shares for the round");
    const both = survivors.find((s) => dropped.includes(s));
    if (both) throw new SecAggError(`site ${both} is named both survivor and dropped; revealing both its secrets would unmask its update`);
    this.#revealed = true;
    const out: RevealedShare[] = [];
    for (const [of, held] of this.#held) {
      if (survivors.includes(of)) out.push({ from: this.site, of, kind: "self-mask-seed", share: held.seed });
      else if (dropped.includes(of)) out.push({ from: this.site, of, kind: "mask-key", share: held.key });
    }
    return out;
  }

  /** Senders whose shares this site holds (itself included): the coordinator's view of whom it masked with. */
  holds(): string[] {
    return [...this.#held.keys()];
  }
}

export interface UnmaskInput {
  config: SecAggRoundConfig;
  /** Σ of the masked vectors of the survivors (mod 2^48). */
  maskedSum: Float64Array;
  /** Sites whose masked vector is in the sum (U3). */
  survivors: string[];
  /** Sites that shared but sent no masked vector (U2 \ U3). */
  dropped: string[];
  /** Each site's advertised keys. */
  keys: Map<string, AdvertisedKeys>;
  /** Per site, the senders whose shares were forwarded to it (whom it masked with). */
  sharedWith: Map<string, string[]>;
  reveals: RevealedShare[];
}

/** Removes every mask from the survivors' sum and decodes it: the sum of their fixed-point vectors. */
export async function unmaskSum(input: UnmaskInput): Promise<Float64Array> {
  const { config, survivors, dropped, keys, reveals } = input;
  const sum = Float64Array.from(input.maskedSum);
  const sharesOf = (of: string, kind: SecretKind): Buffer[] => reveals.filter((r) => r.of === of && r.kind === kind).map((r) => r.share);
  for (const j of survivors) {
    const seed = await rebuildSecret(sharesOf(j, "self-mask-seed"), config.threshold, `the self mask of ${j}`, (s) => commitment(s) === keys.get(j)?.selfMaskCommitment);
    addMod(sum, prgElements(seed, sum.length), -1);
  }
  for (const j of dropped) {
    const key = await rebuildSecret(sharesOf(j, "mask-key"), config.threshold, `the mask key of ${j}`, (k) => publicKeyOf(k).equals(keys.get(j)?.maskPublicKey ?? Buffer.alloc(0)));
    for (const i of survivors) {
      if (!(input.sharedWith.get(i) ?? []).includes(j)) continue;
      const seed = pairSeed(key, keys.get(i)!.maskPublicKey, config.roundKey);
      addMod(sum, prgElements(seed, sum.length), pairSign(config.participants, i, j) === 1 ? -1 : 1);
    }
  }
  return decodeFixedPoint(sum, config.fractionBits);
}
