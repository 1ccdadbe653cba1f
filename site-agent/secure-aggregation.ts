/**
 * The site's side of a SecAgg+ round (services/secagg/protocol.ts over SiteService): advertise
 * keys and share secrets before training, mask the update after it (the plaintext checks the
 * coordinator can no longer make happen here, before masking), and reveal the shares the
 * coordinator needs to remove the masks of the round's survivors.
 */
import { decodeDelta } from "../services/model/index.js";
import { l2Norm, firstNonFinite } from "../services/tensors/index.js";
import { SecAggSite, type SealedShare } from "../services/secagg/protocol.js";
import type { Logger } from "../services/log/index.js";
import type { SiteServiceClient } from "../generated/medfcl/v1/SiteService.js";
import type { TrainTask__Output } from "../generated/medfcl/v1/TrainTask.js";
import type { SecAggKeysResponse__Output } from "../generated/medfcl/v1/SecAggKeysResponse.js";
import type { SecAggSharesResponse__Output } from "../generated/medfcl/v1/SecAggSharesResponse.js";
import type { SecAggUnmaskResponse__Output } from "../generated/medfcl/v1/SecAggUnmaskResponse.js";
import { call } from "./client.js";
import { TaskRefusedError } from "./errors.js";

const POLL_MS = 20_000;

export class SecAggSession {
  readonly #site: SecAggSite;
  readonly #cfg: NonNullable<TrainTask__Output["secure_aggregation"]>;

  private constructor(
    readonly client: SiteServiceClient,
    readonly siteId: string,
    readonly task: TrainTask__Output,
    readonly log: Logger,
  ) {
    this.#cfg = task.secure_aggregation!;
    this.#site = new SecAggSite(siteId, {
      roundKey: this.#cfg.round_key,
      participants: this.#cfg.participants,
      neighbours: { [siteId]: this.#cfg.neighbours },
      threshold: this.#cfg.threshold,
      fractionBits: this.#cfg.fraction_bits,
    });
  }

  async #poll<T extends { ready: boolean }>(rpc: string, body: object, signal: AbortSignal): Promise<T> {
    const fn = (this.client as unknown as Record<string, (...a: unknown[]) => unknown>)[rpc].bind(this.client);
    for (;;) {
      const res = await call<object, T>(fn as never, { site_id: this.siteId, task_id: this.task.task_id, wait_ms: POLL_MS, ...body }, POLL_MS + 15_000, signal);
      if (res.ready || signal.aborted) return res;
    }
  }

  /** Stages 1 and 2, before training: keys out, neighbours' keys in; shares out, own shares in. */
  static async setup(client: SiteServiceClient, siteId: string, task: TrainTask__Output, log: Logger, signal: AbortSignal): Promise<SecAggSession> {
    const s = new SecAggSession(client, siteId, task, log);
    const k = s.#site.keys();
    const keys = await s.#poll<SecAggKeysResponse__Output>("SecAggAdvertiseKeys", { encryption_public_key: k.encryptionPublicKey, mask_public_key: k.maskPublicKey, self_mask_commitment: k.selfMaskCommitment }, signal);
    const peers = new Map(keys.neighbours.map((n) => [n.site_id, { encryptionPublicKey: Buffer.from(n.encryption_public_key), maskPublicKey: Buffer.from(n.mask_public_key) }]));
    const sealed = await s.#site.share(peers);
    const shares = await s.#poll<SecAggSharesResponse__Output>("SecAggShareKeys", { shares: sealed.map((x) => ({ from_site: x.from, to_site: x.to, ciphertext: x.ciphertext })) }, signal);
    s.#site.receive(shares.shares.map((x): SealedShare => ({ from: x.from_site, to: x.to_site, ciphertext: Buffer.from(x.ciphertext) })));
    log.info({ round: s.#cfg.round_key, neighbours: peers.size, maskingWith: s.#site.holds().length - 1, threshold: s.#cfg.threshold }, "secure aggregation: keys and shares exchanged");
    return s;
  }

  /**
   * Stage 3: the checks that need the plaintext (finite, L2 norm ≤ the bound), then the masked
   * vector [w·Δ, w] with w = samples / weight_denominator, as 6-byte elements.
   */
  mask(encodedDelta: Buffer, numSamples: number): Buffer {
    const { delta } = decodeDelta(encodedDelta);
    const bad = firstNonFinite(delta);
    if (bad) throw new TaskRefusedError(`the update's tensor "${bad}" holds NaN or infinite values; it is not masked or sent`);
    const norm = l2Norm(delta);
    if (norm > this.#cfg.norm_bound) throw new TaskRefusedError(`the update's L2 norm ${norm.toFixed(4)} exceeds the round's bound ${this.#cfg.norm_bound}; it is not masked or sent`);
    const w = numSamples / this.#cfg.weight_denominator;
    let n = 0;
    for (const t of delta.values()) n += t.data.length;
    const values = new Float64Array(n + 1);
    let o = 0;
    for (const t of delta.values()) for (let i = 0; i < t.data.length; i++) values[o++] = w * t.data[i];
    values[n] = w;
    return this.#site.mask(values);
  }

  /** Stage 4, after the masked upload: learn the survivors and the dropped, reveal what they need. */
  async unmask(signal: AbortSignal): Promise<void> {
    const asked = await this.#poll<SecAggUnmaskResponse__Output>("SecAggUnmask", {}, signal);
    if (signal.aborted) return;
    const shares = this.#site.reveal(asked.survivors, asked.dropped);
    const KIND = { "self-mask-seed": "SECRET_KIND_SELF_MASK_SEED", "mask-key": "SECRET_KIND_MASK_KEY" } as const;
    await call(this.client.SecAggUnmask.bind(this.client), { site_id: this.siteId, task_id: this.task.task_id, wait_ms: 0, shares: shares.map((s) => ({ of_site: s.of, kind: KIND[s.kind], share: s.share })) }, 30_000, signal);
    this.log.info({ survivors: asked.survivors.length, dropped: asked.dropped, revealed: shares.length }, "secure aggregation: shares revealed");
  }
}
