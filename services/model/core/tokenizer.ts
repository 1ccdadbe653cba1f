import { hashString } from "../../data/index.js";
import type { CategoryInfo } from "../../data/index.js";
import { ModelOptionError } from "./errors.js";
import type { ModelConfig } from "./types.js";
import { CLS_ID, PAD_ID, SEP_ID, SPECIAL_TOKENS, WORDS } from "./vocab.js";

const WORD_IDS: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>();
  // A word the list repeats keeps its first id; the later rows are never used (but exist: vocabSize).
  WORDS.forEach((w, i) => {
    if (!m.has(w)) m.set(w, SPECIAL_TOKENS.length + i);
  });
  return m;
})();

/** Rows of the token embedding: specials + committed words + OOV hash buckets. */
export function vocabSize(cfg: Pick<ModelConfig, "oovBuckets">): number {
  return SPECIAL_TOKENS.length + WORDS.length + cfg.oovBuckets;
}

/** Lower-cased words and punctuation marks. */
export function splitWords(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? [];
}

/**
 * Word → id. Unknown words go to one of `oovBuckets` rows chosen by an FNV-1a hash of the word,
 * so an unseen word is stable across runs and sites (and two unseen words rarely share a row).
 */
export function tokenId(word: string, cfg: Pick<ModelConfig, "oovBuckets">): number {
  const id = WORD_IDS.get(word);
  if (id !== undefined) return id;
  return SPECIAL_TOKENS.length + WORDS.length + (hashString(word) % cfg.oovBuckets);
}

export interface EncodedCaption {
  caption: string;
  /** maxTokens ids: [CLS] tokens [SEP] [PAD]... */
  ids: Int32Array;
  /** 1 for real tokens, 0 for padding. */
  mask: Float32Array;
  /** Per category (same order as given): token positions of its `name`. */
  spans: Map<number, number[]>;
}

/**
 * The GLIP caption: each category's prefix + name + suffix, joined with ". ". Only the tokens of
 * `name` are positive for that category.
 */
export function encodeCaption(categories: readonly CategoryInfo[], cfg: Pick<ModelConfig, "oovBuckets" | "maxTokens">): EncodedCaption {
  const ids: number[] = [CLS_ID];
  const spans = new Map<number, number[]>();
  const parts: string[] = [];
  categories.forEach((c, i) => {
    const p = c.prompt ?? { prefix: "", name: c.name, suffix: "" };
    if (i > 0) {
      ids.push(tokenId(".", cfg));
      parts.push(". ");
    }
    for (const w of splitWords(p.prefix)) ids.push(tokenId(w, cfg));
    const span: number[] = [];
    for (const w of splitWords(p.name)) {
      span.push(ids.length);
      ids.push(tokenId(w, cfg));
    }
    for (const w of splitWords(p.suffix)) ids.push(tokenId(w, cfg));
    parts.push(`${p.prefix}${p.name}${p.suffix}`);
    if (span.length === 0) throw new ModelOptionError(`category ${c.id} prompt.name`, `"${p.name}" has no words; every category needs a name to ground`);
    spans.set(c.id, span);
  });
  ids.push(SEP_ID);
  const caption = parts.join("");
  if (ids.length > cfg.maxTokens) {
    throw new ModelOptionError(
      "maxTokens",
      `the caption "${caption}" needs ${ids.length} tokens but the model takes ${cfg.maxTokens}; shorten the category prompts or use a config with larger maxTokens`,
    );
  }
  const out = new Int32Array(cfg.maxTokens).fill(PAD_ID);
  out.set(ids);
  const mask = new Float32Array(cfg.maxTokens);
  mask.fill(1, 0, ids.length);
  return { caption, ids: out, mask, spans };
}
