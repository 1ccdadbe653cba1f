import type { AgentConfig } from "../services/config/index.js";
import { checkEpsilonBudget, EpsilonBudgetExceededError, privatizeDelta, recordEpsilonSpend, type DpTask, type EpsilonBudgetContext } from "../services/privacy/index.js";
import type { TrainTask__Output } from "../generated/medfcl/v1/TrainTask.js";
import { TaskRefusedError } from "./errors.js";
import type { LocalTrainer } from "./trainer.js";

export type DpSettings = AgentConfig["privacy"]["dp"];

/**
 * One task as the accountant sees it: the site's whole update is released once per task
 * (site-level DP-FedAvg, docs/privacy.md), so one step at sample rate 1.
 */
export function dpTaskOf(task: TrainTask__Output, dp: DpSettings): DpTask {
  return { taskId: task.task_id, noiseMultiplier: dp.noiseMultiplier, sampleRate: 1, steps: 1, clipNorm: dp.clipNorm };
}

/**
 * Differential privacy around any trainer (as Flower's dp_fixed_clipping wraps a strategy): a task
 * the site's ε budget cannot pay for is refused before training; after training the update is
 * clipped to `clipNorm` and noised (seeded by the training seed), and the spend is recorded in the
 * site's ledger. The inner trainer knows nothing of it.
 */
export function withDifferentialPrivacy(inner: LocalTrainer, dp: DpSettings, site: { siteId: string; stateDir: string }): LocalTrainer {
  const budget: EpsilonBudgetContext = { site: site.siteId, stateDir: site.stateDir, epsilonBudget: dp.epsilonBudget, delta: dp.delta };
  return {
    checkTask(task) {
      try {
        checkEpsilonBudget(budget, dpTaskOf(task, dp));
      } catch (err) {
        if (err instanceof EpsilonBudgetExceededError) throw new TaskRefusedError(err.message, { cause: err });
        throw err;
      }
      inner.checkTask(task);
    },

    trainedModel: (taskId) => inner.trainedModel(taskId),

    async train(task, baseCheckpoint, replay, onProgress, signal) {
      const update = await inner.train(task, baseCheckpoint, replay, onProgress, signal);
      const p = privatizeDelta(update.delta, { clipNorm: dp.clipNorm, noiseMultiplier: dp.noiseMultiplier, seed: update.seed });
      const plan = await recordEpsilonSpend(budget, dpTaskOf(task, dp));
      return {
        ...update,
        delta: p.delta,
        metrics: [...update.metrics, { name: "dp_epsilon", value: plan.after, step: -1 }, { name: "dp_update_norm", value: p.norm, step: -1 }],
      };
    },
  };
}
