import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { configHash, encodeCaption, explicitPads, modelConfig, paramSpecs, tokenId, vocabSize } from "../../../../services/model/index.js";
import { SPECIAL_TOKENS, WORDS } from "../../../../services/model/core/vocab.js";

describe("model", () => {
  it("model - caption joins prefix+name+suffix with '. ' and marks only each name's tokens", () => {
    const cfg = modelConfig("nano");
    const cap = encodeCaption(
      [
        { id: 1, name: "polyp", prompt: { prefix: "a ", name: "pink oval bump", suffix: " in rectum" } },
        { id: 9, name: "cell", prompt: { prefix: "", name: "round cells", suffix: "" } },
      ],
      cfg,
    );
    assert.equal(cap.caption, "a pink oval bump in rectum. round cells");
    // [CLS] a pink oval bump in rectum . round cells [SEP]
    assert.deepEqual(cap.spans.get(1), [2, 3, 4]);
    assert.deepEqual(cap.spans.get(9), [8, 9]);
    assert.equal(cap.ids[cap.spans.get(1)![0]], tokenId("pink", cfg));
    assert.equal(cap.mask.reduce((a, b) => a + b, 0), 11);
    assert.equal(cap.ids.length, cfg.maxTokens);
  });

  it("model - unknown words hash to a stable OOV bucket inside the embedding table", () => {
    const cfg = modelConfig("nano");
    const a = tokenId("xylophonoma", cfg);
    assert.equal(a, tokenId("xylophonoma", cfg));
    assert.ok(a >= vocabSize(cfg) - cfg.oovBuckets && a < vocabSize(cfg));
    assert.ok(tokenId("polyp", cfg) < vocabSize(cfg) - cfg.oovBuckets);
  });

  it("model - the committed vocabulary is frozen: 3 special tokens and 230 distinct words, pinned by sha256", () => {
    // Changing the list in any way (appending too) changes the token embedding's shape and moves
    // every hashed row, so every checkpoint stops fitting. A new vocabulary is a new model config.
    assert.equal(new Set(WORDS).size, 230);
    assert.equal(SPECIAL_TOKENS.length + new Set(WORDS).size, 233, "known tokens");
    assert.equal(createHash("sha256").update(JSON.stringify([SPECIAL_TOKENS, WORDS])).digest("hex"), "452e9f6ea2952439cf2171f946c2301d7841299f178aa19f3fbc8bc2f2f5288b");
    assert.equal(vocabSize(modelConfig("nano")), SPECIAL_TOKENS.length + WORDS.length + 64);
  });

  it("model - a caption longer than maxTokens is refused with advice", () => {
    const cfg = modelConfig("nano", { maxTokens: 6 });
    assert.throws(() => encodeCaption([{ id: 1, name: "x", prompt: { prefix: "a b c ", name: "d e", suffix: " f g" } }], cfg), /maxTokens|shorten/);
  });

  it("model - config hash changes with the architecture and parameter names are unique and stable", () => {
    assert.notEqual(configHash(modelConfig("nano")), configHash(modelConfig("nano", { dModel: 48 })));
    assert.equal(configHash(modelConfig("nano")), configHash(modelConfig("nano")));
    const names = paramSpecs(modelConfig("small")).map((s) => s.name);
    assert.equal(new Set(names).size, names.length);
    assert.ok(names.includes("fusion.i2t.q.weight"));
    assert.equal(paramSpecs(modelConfig("nano"))[0].name, "image.stem.weight");
  });

  it("model - 'same' padding follows TensorFlow (extra pixel at the bottom/right)", () => {
    assert.deepEqual(explicitPads(8, 8, 3, 3, 2, "same"), [0, 1, 0, 1]);
    assert.deepEqual(explicitPads(9, 9, 3, 3, 1, "same"), [1, 1, 1, 1]);
    assert.deepEqual(explicitPads(9, 9, 3, 3, 1, "valid"), [0, 0, 0, 0]);
  });
});
