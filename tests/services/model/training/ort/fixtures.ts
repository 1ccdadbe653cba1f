import type { Sample } from "../../../../../services/data/index.js";
import { encodeCaption, packBatch, type ModelConfig } from "../../../../../services/model/index.js";
import type { TrainBatch } from "../../../../../services/model/training/schedule.js";

/** A seeded synthetic batch: noise images with two boxes each, captioned with one two-word category plus another. */
export function syntheticBatch(cfg: ModelConfig, batchSize: number, seed: number): TrainBatch {
  const caption = encodeCaption(
    [
      { id: 1, name: "polyp", prompt: { prefix: "", name: "pink yellow red color oval bump", suffix: " in rectum" } },
      { id: 2, name: "cell", prompt: { prefix: "", name: "round cells", suffix: "" } },
    ],
    cfg,
  );
  const S = cfg.inputSize;
  let s = seed >>> 0;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const samples: Sample[] = Array.from({ length: batchSize }, (_, i) => {
    const x = 4 + rnd() * (S / 3);
    const y = 4 + rnd() * (S / 3);
    const w = 16 + rnd() * (S / 2);
    const h = 16 + rnd() * (S / 2);
    return {
      imageId: i,
      size: S,
      pixels: Float32Array.from({ length: S * S * 3 }, rnd),
      boxes: Float32Array.from([x, y, Math.min(S - 1, x + w), Math.min(S - 1, y + h), S * 0.55, S * 0.55, S * 0.55 + 10 + i, S * 0.6 + 12]),
      labels: Int32Array.from([1, 1 + (i % 2)]),
      transform: { scale: 1, padX: 0, padY: 0, flipped: false, origWidth: S, origHeight: S, size: S },
    };
  });
  return packBatch(cfg, samples, samples.map(() => caption));
}
