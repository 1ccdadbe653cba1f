import { trainTaskNames } from "../services/transport/index.js";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { AgentConfig } from "../services/config/index.js";
import { loadSample } from "../services/data/index.js";
import type { Logger } from "../services/log/index.js";
import { embedSamples, imageLosses, type TfDetector } from "../services/model/index.js";
import { parseExemplarPipelineOptions, runExemplarPipeline, type ExemplarCandidate } from "../services/privacy/index.js";
import { parseExemplarSampler, samplerNeedsModel, selectExemplars, type ModelSignals, type ReplayItem } from "../services/replay/index.js";
import { writeFileAtomicSync } from "../services/store/index.js";
import type { TrainTask__Output } from "../generated/medfcl/v1/TrainTask.js";
import type { SiteData } from "./site-data.js";
import type { ExemplarOffer } from "./types.js";

/** The site secret salts record hashes and DICOM UID remapping; made once and kept with 0600. */
export function siteSecret(config: Pick<AgentConfig, "privacy" | "stateDir">): string {
  if (config.privacy.siteSecret) return config.privacy.siteSecret;
  const path = join(config.stateDir, "privacy", "site-secret");
  if (existsSync(path)) return readFileSync(path, "utf8").trim();
  mkdirSync(dirname(path), { recursive: true });
  const secret = randomBytes(32).toString("hex");
  writeFileAtomicSync(path, secret, { mode: 0o600 });
  return secret;
}

/** Offers up to `count` privacy-filtered exemplars for a task. */
export type ExemplarOfferer = (task: TrainTask__Output, count: number) => Promise<ExemplarOffer[]>;

/** A shareable image of the site's dataset, as the selectors see it (`id` is its dataset index). */
type Candidate = ReplayItem;

/** The seed of a task's exemplar choice (for the samplers that draw at random). */
export function exemplarSeed(task: TrainTask__Output): number {
  return Number(task.hyperparameters?.seed ?? 1) + task.step;
}

/** Embeddings and losses of the candidates under `det`, computed only when a selector asks. */
function modelSignals(data: SiteData, candidates: readonly Candidate[], det: TfDetector): ModelSignals {
  const indices = candidates.map((c) => Number(c.id));
  return {
    embeddings: async () => embedSamples(det, await Promise.all(indices.map((index) => loadSample(data.dataset, index, { size: det.config.inputSize })))),
    losses: () => imageLosses(det, data.dataset, indices),
  };
}

export interface ExemplarOffererDeps {
  data: SiteData;
  privacy: AgentConfig["privacy"];
  stateDir: string;
  siteId: string;
  secret: string;
  /** The model trained for a task, if the site still holds it (not after a restart from the spool). */
  modelFor(task: TrainTask__Output): TfDetector | null;
  logger: Logger;
}

/**
 * Chooses among the site's shareable images with the task's sampler (services/replay), then runs
 * the choice through the privacy pipeline; only what passes is offered. An unknown sampler is an
 * error, never a quiet substitute.
 */
export function exemplarOfferer(deps: ExemplarOffererDeps): ExemplarOfferer {
  const { data, logger } = deps;
  const { dataset, domain } = data;
  return async (task, count) => {
    const requested = parseExemplarSampler(trainTaskNames(task).exemplarSampler, `task ${task.task_id} exemplar_sampler`);
    const candidates: Candidate[] = dataset.images
      .map((im, index) => ({ im, index }))
      .filter(({ im }) => data.extrasOf(im.id).shareable === true)
      .map(({ im, index }) => ({ id: String(index), domain, categoryIds: (dataset.annotationsByImage.get(im.id) ?? []).map((a) => a.category_id), order: index }));
    if (candidates.length === 0) {
      logger.warn("no record in this dataset is marked shareable; no exemplar leaves the site");
      return [];
    }
    const det = deps.modelFor(task);
    let sampler = requested;
    if (samplerNeedsModel(requested) && !det) {
      // Only after a restart: the update came from the spool and the model it was trained into is gone.
      logger.warn({ taskId: task.task_id, sampler: requested }, "the model trained for this task is no longer held (update resumed from the spool); choosing the exemplars at random");
      sampler = "random";
    }
    const picked = await selectExemplars(candidates, count, sampler, exemplarSeed(task), det ? modelSignals(data, candidates, det) : null);
    const { exported, refused } = await runExemplarPipeline(picked.map((c) => pipelineCandidate(data, Number(c.id))), {
      site: deps.siteId,
      config: deps.privacy,
      siteSecret: deps.secret,
      stateDir: deps.stateDir,
      options: parseExemplarPipelineOptions(deps.privacy.exemplarPipeline),
    });
    if (refused.length) logger.info({ refused: refused.length, reasons: [...new Set(refused.map((r) => r.stage))] }, "exemplars held back by the privacy filter");
    const categories = dataset.categories.map((c) => ({ id: c.id, name: c.name, prompt: c.prompt }));
    return exported.map((e) => ({
      bytes: e.bytes,
      info: {
        exemplar_id: e.sha256,
        mime: e.mime,
        width: e.width,
        height: e.height,
        boxes: e.boxes.map((b) => ({ x: b.bbox[0], y: b.bbox[1], width: b.bbox[2], height: b.bbox[3], category_id: b.category_id })),
        domain,
        categories,
        provenance: {
          content_sha256: e.provenance.contentSha256,
          source_hmac: e.provenance.sourceHmac,
          site_id: e.provenance.site,
          stages: e.provenance.stages.map((s) => ({ name: s.name, version: s.version, removed: s.removed ?? [] })),
          exported_at: e.provenance.exportedAt,
        },
        size: e.bytes.length,
        score: 0,
      },
    }));
  };
}

/** One dataset image as the privacy pipeline's input. */
function pipelineCandidate(data: SiteData, index: number): ExemplarCandidate {
  const im = data.dataset.images[index];
  const ex = data.extrasOf(im.id);
  return {
    recordId: `${data.domain}/${im.file_name}`,
    imagePath: join(data.dir, im.file_name),
    shareable: ex.shareable === true,
    patientKey: ex.patient_id,
    quasiIdentifiers: ex.quasi_identifiers,
    boxes: (data.dataset.annotationsByImage.get(im.id) ?? []).map((a) => ({ bbox: a.bbox, category_id: a.category_id })),
    width: im.width,
    height: im.height,
  };
}
