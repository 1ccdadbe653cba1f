import { trainTaskHyper } from "../services/transport/index.js";
import { join } from "node:path";
import { defaultAugmentOptions } from "../services/data/index.js";
import type { AgentConfig } from "../services/config/index.js";
import type { Logger } from "../services/log/index.js";
import { detectorFromWeights, initBackend, parseCheckpoint, trainDetector, type TensorMap, type TfDetector } from "../services/model/index.js";
import { subtractTensors } from "../services/tensors/index.js";
import type { Metric } from "../generated/medfcl/v1/Metric.js";
import type { TrainTask__Output } from "../generated/medfcl/v1/TrainTask.js";
import type { PulledExemplar } from "./client.js";
import type { FewShotSelection } from "./few-shot.js";
import { replayDataset } from "./replay-dataset.js";
import type { SiteData } from "./site-data.js";
import type { TaskProgress } from "./types.js";

/** A task's local update before encoding: what a wrapper (DP) may still transform. */
export interface TrainedUpdate {
  delta: TensorMap;
  /** The seed training used; a wrapper that draws noise derives from it. */
  seed: number;
  numSamples: number;
  metrics: Metric[];
}

/** Local training for one task. Wrappers (`withDifferentialPrivacy`) implement the same interface. */
export interface LocalTrainer {
  /** Throws TaskRefusedError when the task would break a local rule (privacy budget). */
  checkTask(task: TrainTask__Output): void;
  train(task: TrainTask__Output, baseCheckpoint: Buffer, replay: PulledExemplar[], onProgress: (p: TaskProgress) => void, signal: AbortSignal): Promise<TrainedUpdate>;
  /** The detector trained for this task while it is the latest one trained here; null otherwise. */
  trainedModel(taskId: string): TfDetector | null;
}

/** Each step and round of a run trains with its own seed, derived from the run's. */
export function trainingSeed(task: TrainTask__Output): number {
  return Number(task.hyperparameters!.seed) + task.step * 1009 + task.round;
}

export interface LocalTrainerDeps {
  config: Pick<AgentConfig, "backend" | "stateDir" | "trainEngine" | "trainThreads" | "executionProvider">;
  data: SiteData;
  fewShot: FewShotSelection;
  logger: Logger;
}

/** Fine-tunes the task's base model on the site's images (plus the pulled replay exemplars). */
export function localTrainer({ config, data, fewShot, logger }: LocalTrainerDeps): LocalTrainer {
  let backendReady: Promise<string> | null = null;
  let last: { taskId: string; det: TfDetector } | null = null;
  return {
    checkTask() {},

    trainedModel(taskId) {
      return last?.taskId === taskId ? last.det : null;
    },

    async train(task, baseCheckpoint, replay, onProgress, signal) {
      backendReady ??= initBackend(config.backend);
      await backendReady;
      const { config: modelCfg, tensors: base } = parseCheckpoint(baseCheckpoint, `model ${task.base_version}`);
      last?.det.dispose();
      const det = detectorFromWeights(modelCfg, base);
      last = { taskId: task.task_id, det };
      const h = trainTaskHyper(task.hyperparameters);
      const seed = trainingSeed(task);
      const train = await fewShot(task, det);
      const replayDs = await replayDataset(join(config.stateDir, "replay", task.task_id), replay);
      const started = Date.now();
      const result = await trainDetector(det, train, {
        epochs: h.epochs || 1,
        steps: h.max_steps || undefined,
        batchSize: h.batch_size || 4,
        lr: h.lr,
        textLr: h.text_lr,
        weightDecay: h.weight_decay,
        freezeStages: h.freeze_stages,
        gradClip: h.grad_clip,
        seed,
        // The same augmentation `medfcl train` uses, so the epoch rule's learning curves hold for sites.
        augment: defaultAugmentOptions(),
        replay: replayDs && h.replay_ratio > 0 ? { dataset: replayDs, ratio: h.replay_ratio } : undefined,
        onProgress: (p) => onProgress({ fraction: p.totalSteps ? p.step / p.totalSteps : 0, loss: p.loss, imagesPerSec: p.imagesPerSec }),
        signal,
        engine: config.trainEngine,
        threads: config.trainThreads,
        executionProvider: config.executionProvider,
      });
      logger.info({ taskId: task.task_id, domain: data.domain, engine: config.trainEngine, steps: result.steps, loss: result.losses.at(-1), imagesPerSec: result.imagesPerSec.toFixed(1) }, "local training done");
      return {
        delta: subtractTensors(det.getWeights(), base),
        seed,
        numSamples: train.images.length,
        metrics: [
          { name: "loss_first", value: result.losses[0] ?? 0, step: 0 },
          { name: "loss_last", value: result.losses[result.losses.length - 1] ?? 0, step: result.steps },
          { name: "train_steps", value: result.steps, step: -1 },
          { name: "images_per_sec", value: result.imagesPerSec, step: -1 },
          { name: "train_seconds", value: (Date.now() - started) / 1000, step: -1 },
          { name: "replay_exemplars", value: replay.length, step: -1 },
        ],
      };
    },
  };
}
