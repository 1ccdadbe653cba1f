// The coordinator database: secure aggregation: SecAgg+ round state.
import { z } from "zod";
import { SECAGG_STAGES, type SecAggKeysRecord, type SecAggRoundRecord, type SecAggStage } from "../domain.js";
import { type Db, nowIso } from "./db.js";
import { parseJson, parseValue, stringList } from "./parse.js";

// Tables of their own (secagg_rounds, secagg_keys, secagg_shares, secagg_reveals), only here.

interface SecAggRoundRow {
  round_key: string;
  run_id: string;
  step: number;
  round: number;
  config_json: string;
  stage: string;
  survivors_json: string;
  dropped_json: string;
  error: string | null;
}

export function insertSecAggRound(db: Db, r: { roundKey: string; runId: string; step: number; round: number; config: unknown }): void {
  db.prepare("INSERT OR IGNORE INTO secagg_rounds (round_key, run_id, step, round, config_json, stage, created_at) VALUES (?, ?, ?, ?, ?, 'keys', ?)").run(
    r.roundKey, r.runId, r.step, r.round, JSON.stringify(r.config), nowIso(),
  );
}

export function getSecAggRound(db: Db, roundKey: string): SecAggRoundRecord | undefined {
  const r = db.prepare("SELECT * FROM secagg_rounds WHERE round_key = ?").get(roundKey) as SecAggRoundRow | undefined;
  if (!r) return undefined;
  const where = (field: string) => ({ table: "secagg_rounds", key: roundKey, field });
  return {
    roundKey: r.round_key,
    runId: r.run_id,
    step: r.step,
    round: r.round,
    config: parseJson(z.unknown(), r.config_json, where("config_json")),
    stage: parseValue(z.enum(SECAGG_STAGES), r.stage, where("stage")),
    survivors: parseJson(stringList, r.survivors_json, where("survivors_json")),
    dropped: parseJson(stringList, r.dropped_json, where("dropped_json")),
    error: r.error,
  };
}

export function setSecAggStage(db: Db, roundKey: string, stage: SecAggStage, fields: { survivors?: string[]; dropped?: string[]; error?: string } = {}): void {
  db.prepare(
    "UPDATE secagg_rounds SET stage = ?, survivors_json = COALESCE(?, survivors_json), dropped_json = COALESCE(?, dropped_json), error = COALESCE(?, error) WHERE round_key = ?",
  ).run(stage, fields.survivors ? JSON.stringify(fields.survivors) : null, fields.dropped ? JSON.stringify(fields.dropped) : null, fields.error ?? null, roundKey);
}

/** Stores a site's advertised keys once; returns the stored ones (a retry with other keys gets the first). */
export function putSecAggKeys(db: Db, roundKey: string, k: SecAggKeysRecord): SecAggKeysRecord {
  db.prepare("INSERT OR IGNORE INTO secagg_keys (round_key, site_id, encryption_public_key, mask_public_key, self_mask_commitment) VALUES (?, ?, ?, ?, ?)").run(
    roundKey, k.siteId, k.encryptionPublicKey, k.maskPublicKey, k.selfMaskCommitment,
  );
  return secAggKeys(db, roundKey).find((x) => x.siteId === k.siteId)!;
}

export function secAggKeys(db: Db, roundKey: string): SecAggKeysRecord[] {
  return (
    db.prepare("SELECT site_id, encryption_public_key, mask_public_key, self_mask_commitment FROM secagg_keys WHERE round_key = ? ORDER BY site_id").all(roundKey) as {
      site_id: string;
      encryption_public_key: Buffer;
      mask_public_key: Buffer;
      self_mask_commitment: string;
    }[]
  ).map((r) => ({ siteId: r.site_id, encryptionPublicKey: r.encryption_public_key, maskPublicKey: r.mask_public_key, selfMaskCommitment: r.self_mask_commitment }));
}

export function putSecAggShares(db: Db, roundKey: string, shares: { from: string; to: string; ciphertext: Buffer }[]): void {
  const stmt = db.prepare("INSERT OR IGNORE INTO secagg_shares (round_key, from_site, to_site, ciphertext) VALUES (?, ?, ?, ?)");
  db.transaction(() => {
    for (const s of shares) stmt.run(roundKey, s.from, s.to, s.ciphertext);
  })();
}

export function secAggShares(db: Db, roundKey: string): { from: string; to: string; ciphertext: Buffer }[] {
  return (db.prepare("SELECT from_site, to_site, ciphertext FROM secagg_shares WHERE round_key = ? ORDER BY from_site, to_site").all(roundKey) as { from_site: string; to_site: string; ciphertext: Buffer }[]).map((r) => ({
    from: r.from_site,
    to: r.to_site,
    ciphertext: r.ciphertext,
  }));
}

export function putSecAggReveals(db: Db, roundKey: string, reveals: { from: string; of: string; kind: string; share: Buffer }[]): void {
  const stmt = db.prepare("INSERT OR IGNORE INTO secagg_reveals (round_key, from_site, of_site, kind, share) VALUES (?, ?, ?, ?, ?)");
  db.transaction(() => {
    for (const r of reveals) stmt.run(roundKey, r.from, r.of, r.kind, r.share);
  })();
}

export function secAggReveals(db: Db, roundKey: string): { from: string; of: string; kind: string; share: Buffer }[] {
  return (db.prepare("SELECT from_site, of_site, kind, share FROM secagg_reveals WHERE round_key = ?").all(roundKey) as { from_site: string; of_site: string; kind: string; share: Buffer }[]).map((r) => ({
    from: r.from_site,
    of: r.of_site,
    kind: r.kind,
    share: r.share,
  }));
}
