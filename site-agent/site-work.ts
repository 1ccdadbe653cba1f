/**
 * What a task does with the site's data, composed from small parts: the site's data
 * (`site-data.ts`), a trainer (`trainer.ts`) with its few-shot selection (`few-shot.ts`), optionally
 * wrapped in differential privacy (`dp.ts`), and an exemplar offerer (`exemplar-offerer.ts`) whose
 * selection policies live in services/replay. This file only wires them and encodes the update.
 */
import type { AgentConfig } from "../services/config/index.js";
import { ErrorCode, MedfclError } from "../services/errors/index.js";
import { deltaEncodingWire, trainTaskNames } from "../services/transport/index.js";
import type { Logger } from "../services/log/index.js";
import { encodeDelta, type DeltaEncoding } from "../services/model/index.js";
import { parseExemplarSampler } from "../services/replay/index.js";
import type { TrainTask__Output } from "../generated/medfcl/v1/TrainTask.js";
import { withDifferentialPrivacy } from "./dp.js";
import { TaskRefusedError } from "./errors.js";
import { exemplarOfferer, siteSecret } from "./exemplar-offerer.js";
import { checkShotsSelection, fewShotSelection } from "./few-shot.js";
import { loadSiteData } from "./site-data.js";
import { createSiteEvaluator } from "./site-evaluator.js";
import { localTrainer, type LocalTrainer } from "./trainer.js";
import type { LocalTrainResult, SiteWork } from "./types.js";

const DTYPE_OF: Record<DeltaEncoding, string> = { fp32: "F32", fp16: "F16", int8: "I8", topk: "F32" };

/**
 * A task whose exemplar sampler or few-shot selection this site does not know is refused before
 * any training, with the reason sent to the coordinator; it is never served by another policy.
 */
function checkTaskSettings(task: TrainTask__Output): void {
  try {
    if (task.exemplars_wanted > 0) parseExemplarSampler(trainTaskNames(task).exemplarSampler, `task ${task.task_id} exemplar_sampler`);
    if (task.shots > 0) checkShotsSelection(task);
  } catch (err) {
    if (err instanceof MedfclError) throw new TaskRefusedError(err.message, { cause: err });
    throw err;
  }
}

export async function createSiteWork(config: AgentConfig, logger: Logger): Promise<SiteWork> {
  const data = await loadSiteData(config, logger);
  const evaluator = await createSiteEvaluator(config, logger);
  const siteId = config.siteId ?? "site";
  const plain = localTrainer({ config, data, fewShot: fewShotSelection(data.dataset, siteId, logger), logger });
  const trainer: LocalTrainer = config.privacy.dp.enabled ? withDifferentialPrivacy(plain, config.privacy.dp, { siteId, stateDir: config.stateDir }) : plain;
  const offer = exemplarOfferer({
    data,
    privacy: config.privacy,
    stateDir: config.stateDir,
    siteId,
    secret: siteSecret(config),
    modelFor: (task) => trainer.trainedModel(task.task_id),
    logger,
  });

  return {
    manifest: () => data.manifest(),
    notes: () => data.notes,

    checkTask(task) {
      checkTaskSettings(task);
      trainer.checkTask(task);
    },

    async train(task, baseCheckpoint, replay, onProgress, signal): Promise<LocalTrainResult> {
      const update = await trainer.train(task, baseCheckpoint, replay, onProgress, signal);
      const named = trainTaskNames(task).deltaEncoding;
      const encoding: DeltaEncoding | null = deltaEncodingWire.parseName(named);
      if (!encoding) throw new MedfclError(ErrorCode.InvalidArgument, `task ${task.task_id}: unknown delta_encoding "${named}"; this site knows ${deltaEncodingWire.names.join(", ")}`, { details: { field: "delta_encoding", value: named } });
      const bytes = encodeDelta(update.delta, encoding, { "medfcl.base": task.base_version, "medfcl.site": siteId, "medfcl.task": task.task_id });
      return {
        delta: bytes,
        manifest: [...update.delta].map(([name, t]) => ({ name, dtype: DTYPE_OF[encoding], shape: t.shape })),
        encoding,
        numSamples: update.numSamples,
        metrics: update.metrics,
      };
    },

    offerExemplars: offer,

    testSet: () => evaluator?.testSet() ?? null,

    async evaluate(task, model, signal) {
      if (!evaluator) throw new TaskRefusedError("this site holds no test split (agent.testData is not set)");
      return evaluator.evaluate(task, model, signal);
    },
  };
}
