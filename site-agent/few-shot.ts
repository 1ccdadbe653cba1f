import { hashString, loadSample, mixSeed, randomShotIndices, subsetDataset, type CocoDataset } from "../services/data/index.js";
import { ErrorCode, MedfclError } from "../services/errors/index.js";
import { trainTaskNames } from "../services/transport/index.js";
import type { Logger } from "../services/log/index.js";
import { embedSamples, type TfDetector } from "../services/model/index.js";
import { kCenterOrder } from "../services/replay/index.js";
import type { TrainTask__Output } from "../generated/medfcl/v1/TrainTask.js";

export const SHOTS_SELECTIONS = ["random", "kcenter"] as const;

/** A `shots_selection` this site does not know is an error naming the task and the field. */
export function checkShotsSelection(task: TrainTask__Output): void {
  const selection = trainTaskNames(task).shotsSelection;
  if (!(SHOTS_SELECTIONS as readonly string[]).includes(selection)) {
    throw new MedfclError(ErrorCode.InvalidArgument, `task ${task.task_id}: unknown shots_selection "${selection}"; this site knows ${SHOTS_SELECTIONS.join(" and ")}`, { details: { field: "shots_selection", value: selection } });
  }
}

/** The images a task trains on: the whole dataset, or the run's few-shot subset. */
export type FewShotSelection = (task: TrainTask__Output, det: TfDetector) => Promise<CocoDataset>;

/**
 * A run's few-shot subset is chosen at its first task and kept for the run, so N shots stay N
 * images. Random shots are seeded by that task's seed and the site (never by the run id, which is
 * random), so the same command trains on the same images; `kcenter` covers the site's images in
 * the embedding space of the model the run starts from.
 */
export function fewShotSelection(dataset: CocoDataset, siteId: string, logger: Logger): FewShotSelection {
  const chosen = new Map<string, CocoDataset>();
  return async (task, det) => {
    if (task.shots <= 0 || task.shots >= dataset.images.length) return dataset;
    checkShotsSelection(task);
    const selection = trainTaskNames(task).shotsSelection;
    const key = `${task.run_id}/${task.shots}/${selection}`;
    const cached = chosen.get(key);
    if (cached) return cached;
    let subset: CocoDataset;
    if (selection === "kcenter") {
      const samples = await Promise.all(dataset.images.map((_, index) => loadSample(dataset, index, { size: det.config.inputSize })));
      subset = subsetDataset(dataset, [...kCenterOrder(await embedSamples(det, samples), task.shots)].sort((a, b) => a - b));
    } else {
      subset = subsetDataset(dataset, randomShotIndices(dataset.images.length, task.shots, mixSeed(Number(task.hyperparameters?.seed ?? 0), hashString(siteId))));
    }
    logger.info({ runId: task.run_id, shots: task.shots, selection, images: subset.images.length }, "few-shot training subset chosen");
    chosen.set(key, subset);
    return subset;
  };
}
