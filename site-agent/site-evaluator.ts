/**
 * Evaluation at the site: the site's held-out split stays here, a model version comes in, and only
 * pycocotools' 12 statistics and the AP of each category go out. The same code as the
 * coordinator's central evaluation (services/evaluation), so a run evaluated both ways agrees exactly.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { AgentConfig } from "../services/config/index.js";
import { loadCocoDataset, type CocoDataset } from "../services/data/index.js";
import { evaluateCheckpoint } from "../services/evaluation/index.js";
import type { Logger } from "../services/log/index.js";
import { sha256Hex } from "../services/store/index.js";
import type { EvalTask__Output } from "../generated/medfcl/v1/EvalTask.js";
import type { SiteEvaluationResult } from "../generated/medfcl/v1/SiteEvaluationResult.js";
import type { TestSetManifest } from "../generated/medfcl/v1/TestSetManifest.js";
import { TaskRefusedError } from "./errors.js";

export interface SiteEvaluator {
  testSet(): TestSetManifest;
  evaluate(task: EvalTask__Output, model: () => Promise<Buffer>, signal: AbortSignal): Promise<SiteEvaluationResult>;
}

/** The wire result: statistics and per-category AP, in category-id order; nothing else exists to send. */
export function siteEvaluationResult(r: { stats: number[]; perCategoryAp: Record<number, number> }, numImages: number): SiteEvaluationResult {
  return {
    stats: [...r.stats],
    per_category: Object.entries(r.perCategoryAp)
      .map(([id, ap]) => ({ category_id: Number(id), ap }))
      .sort((a, b) => a.category_id - b.category_id),
    num_images: numImages,
  };
}

/** Loads the site's test split (agent.testData) once; null when the site has none. */
export async function createSiteEvaluator(config: Pick<AgentConfig, "testData" | "evalMinImages">, logger: Logger): Promise<SiteEvaluator | null> {
  if (!config.testData) return null;
  const dir = resolve(config.testData);
  const dataset: CocoDataset = await loadCocoDataset(dir);
  const annotationsSha256 = sha256Hex(readFileSync(join(dir, "annotations.json")));
  logger.info({ dir, images: dataset.images.length, categories: dataset.categories.length }, "test split loaded: this site evaluates the model versions it is asked to");
  return {
    testSet: () => ({
      num_images: dataset.images.length,
      num_annotations: dataset.annotations.length,
      categories: dataset.categories.map((c) => ({ id: c.id, name: c.name, prompt: c.prompt })),
      annotations_sha256: annotationsSha256,
    }),
    async evaluate(task, model, signal) {
      if (dataset.images.length < config.evalMinImages) {
        throw new TaskRefusedError(`the test split has ${dataset.images.length} images, fewer than agent.evalMinImages (${config.evalMinImages}); statistics over so few images would describe them`);
      }
      const bytes = await model();
      if (signal.aborted) throw new TaskRefusedError("the agent is stopping");
      const [r] = await evaluateCheckpoint(bytes, [{ domain: task.domain, dataset }]);
      return siteEvaluationResult(r, dataset.images.length);
    },
  };
}
