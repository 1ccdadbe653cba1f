import { trainTaskHyper, trainTaskSettings } from "../services/transport/index.js";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { AgentConfig } from "../services/config/index.js";
import { hashString, loadCocoDataset, loadSample, mixSeed, randomShotIndices, subsetDataset, type CocoDataset } from "../services/data/index.js";
import { ErrorCode, MedfclError } from "../services/errors/index.js";
import type { Logger } from "../services/log/index.js";
import {
  detectorFromWeights,
  embedSamples,
  encodeDelta,
  initBackend,
  parseCheckpoint,
  trainDetector,
  type DeltaEncoding,
  type TfDetector,
} from "../services/model/index.js";
import { checkEpsilonBudget, EpsilonBudgetExceededError, parseExemplarPipelineOptions, privatizeDelta, recordEpsilonSpend, runExemplarPipeline, type ExemplarCandidate } from "../services/privacy/index.js";
import { sampleReplay } from "../services/replay/index.js";
import { sha256Hex, writeFileAtomicSync } from "../services/store/index.js";
import { subtractTensors } from "../services/tensors/index.js";
import type { TrainTask__Output } from "../generated/medfcl/v1/TrainTask.js";
import type { DatasetManifest } from "../generated/medfcl/v1/DatasetManifest.js";
import type { PulledExemplar } from "./client.js";
import { TaskRefusedError } from "./errors.js";
import type { ExemplarOffer, LocalTrainResult, SiteWork } from "./types.js";

const DTYPE_OF: Record<DeltaEncoding, string> = { fp32: "F32", fp16: "F16", int8: "I8", topk: "F32" };

/** The site secret salts record hashes and DICOM UID remapping; made once and kept with 0600. */
export function siteSecret(config: AgentConfig): string {
  if (config.privacy.siteSecret) return config.privacy.siteSecret;
  const path = join(config.stateDir, "privacy", "site-secret");
  if (existsSync(path)) return readFileSync(path, "utf8").trim();
  mkdirSync(dirname(path), { recursive: true });
  const secret = randomBytes(32).toString("hex");
  writeFileAtomicSync(path, secret, { mode: 0o600 });
  return secret;
}

/**
 * Greedy k-center (Gonzalez 1985; the core-set of Sener & Savarese 2018) on L2-normalised
 * embeddings: start at the item nearest the mean, then add the item farthest from everything
 * chosen so far. The subset covers the site's image distribution, including its rare modes.
 */
export function kCenterOrder(features: Float32Array[], count: number): number[] {
  const n = features.length;
  if (n === 0 || count <= 0) return [];
  const d = features[0].length;
  const unit = features.map((f) => {
    let s = 0;
    for (let k = 0; k < d; k++) s += f[k] * f[k];
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    return Float64Array.from(f, (v) => v * inv);
  });
  const dist2 = (a: Float64Array, b: Float64Array): number => {
    let s = 0;
    for (let k = 0; k < d; k++) s += (a[k] - b[k]) ** 2;
    return s;
  };
  const mean = new Float64Array(d);
  for (const u of unit) for (let k = 0; k < d; k++) mean[k] += u[k] / n;
  let first = 0;
  for (let i = 1; i < n; i++) if (dist2(unit[i], mean) < dist2(unit[first], mean)) first = i;
  const chosen = [first];
  const minDist = unit.map((u) => dist2(u, unit[first]));
  while (chosen.length < Math.min(count, n)) {
    let best = -1;
    for (let i = 0; i < n; i++) if (!chosen.includes(i) && (best < 0 || minDist[i] > minDist[best])) best = i;
    chosen.push(best);
    for (let i = 0; i < n; i++) minDist[i] = Math.min(minDist[i], dist2(unit[i], unit[best]));
  }
  return chosen;
}

/**
 * Writes the pulled exemplars as a COCO folder and loads it; each image's caption_categories are
 * those of the site it came from.
 * Categories are matched by name and prompt, not by id: two sites' "1" may be different classes
 * (a polyp and a cell), and one site's class keeps one id whichever exemplar brought it.
 */
export async function replayDataset(dir: string, exemplars: PulledExemplar[]): Promise<CocoDataset | null> {
  if (exemplars.length === 0) return null;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "images"), { recursive: true });
  const categories = new Map<string, { id: number; name: string; prompt: { prefix: string; name: string; suffix: string } }>();
  const images: { id: number; file_name: string; width: number; height: number; caption_categories: number[] }[] = [];
  const annotations: { id: number; image_id: number; category_id: number; bbox: number[]; area: number; iscrowd: 0 }[] = [];
  exemplars.forEach((e, i) => {
    const ext = e.info.mime === "image/jpeg" ? "jpg" : "png";
    const file = `images/${e.info.exemplar_id}.${ext}`;
    writeFileSync(join(dir, file), e.bytes);
    const idOf = new Map<number, number>();
    for (const c of e.info.categories) {
      const prompt = { prefix: c.prompt?.prefix ?? "", name: c.prompt?.name ?? c.name, suffix: c.prompt?.suffix ?? "" };
      const key = JSON.stringify([c.name, prompt]);
      let cat = categories.get(key);
      if (!cat) {
        cat = { id: categories.size + 1, name: c.name, prompt };
        categories.set(key, cat);
      }
      idOf.set(c.id, cat.id);
    }
    images.push({ id: i + 1, file_name: file, width: e.info.width, height: e.info.height, caption_categories: [...new Set(idOf.values())] });
    for (const b of e.info.boxes) {
      const categoryId = idOf.get(b.category_id);
      if (categoryId === undefined) {
        // Dropping the box would replay a labelled lesion as background.
        throw new MedfclError(ErrorCode.DataLoss, `exemplar ${e.info.exemplar_id} has a box of category ${b.category_id}, which its categories do not declare; the coordinator's copy is inconsistent`, {
          details: { exemplarId: e.info.exemplar_id, field: "boxes.category_id" },
        });
      }
      annotations.push({ id: annotations.length + 1, image_id: i + 1, category_id: categoryId, bbox: [b.x, b.y, b.width, b.height], area: b.width * b.height, iscrowd: 0 });
    }
  });
  writeFileSync(join(dir, "annotations.json"), JSON.stringify({ images, annotations, categories: [...categories.values()] }));
  return loadCocoDataset(dir);
}

/** Greedy herding (Welling 2009, iCaRL): pick the items whose running mean best tracks the class mean. */
export function herdingOrder(features: Float32Array[], count: number): number[] {
  if (features.length === 0) return [];
  const d = features[0].length;
  const mean = new Float64Array(d);
  for (const f of features) for (let k = 0; k < d; k++) mean[k] += f[k] / features.length;
  const chosen: number[] = [];
  const sum = new Float64Array(d);
  const used = new Set<number>();
  while (chosen.length < Math.min(count, features.length)) {
    let best = -1;
    let bestDist = Infinity;
    const n = chosen.length + 1;
    features.forEach((f, i) => {
      if (used.has(i)) return;
      let dist = 0;
      for (let k = 0; k < d; k++) {
        const diff = mean[k] - (sum[k] + f[k]) / n;
        dist += diff * diff;
      }
      if (dist < bestDist) {
        bestDist = dist;
        best = i;
      }
    });
    used.add(best);
    chosen.push(best);
    for (let k = 0; k < d; k++) sum[k] += features[best][k];
  }
  return chosen;
}

/**
 * The suite layout is `<domain>/<split>`, so a split folder names its parent; any other folder
 * names itself. A folder without a usable name (e.g. `/data` in a container) needs agent.domain.
 */
export function domainFromPath(dataDir: string): string {
  const own = basename(dataDir);
  const name = ["train", "test", "val"].includes(own) ? basename(dirname(dataDir)) : own;
  if (!name || name === "data") {
    throw new MedfclError(ErrorCode.InvalidArgument, `cannot tell the domain of ${dataDir} from its path; set agent.domain (MEDFCL_AGENT_DOMAIN or --domain)`, { details: { key: "agent.domain" } });
  }
  return name;
}

interface DatasetImageExtras {
  shareable?: boolean;
  patient_id?: string;
  quasi_identifiers?: Record<string, string>;
}

export function createSiteWork(config: AgentConfig, logger: Logger): Promise<SiteWork> {
  return createSiteWorkFor(config, logger);
}

async function createSiteWorkFor(config: AgentConfig, logger: Logger): Promise<SiteWork> {
  if (!config.data) throw new MedfclError(ErrorCode.InvalidArgument, "agent.data is not set: point it at the site's COCO folder (annotations.json + images/)", { details: { key: "agent.data" } });
  const dataDir = resolve(config.data);
  const dataset = await loadCocoDataset(dataDir);
  const domain = config.domain ?? domainFromPath(dataDir);
  const rawImages = (JSON.parse(readFileSync(join(dataDir, "annotations.json"), "utf8")) as { images: (DatasetImageExtras & { id: number })[] }).images;
  const extras = new Map(rawImages.map((im) => [im.id, im]));
  const secret = siteSecret(config);
  let lastDetector: TfDetector | null = null;
  let backendReady: Promise<string> | null = null;
  const siteId = config.siteId ?? "site";
  // A few-shot subset is chosen once per run (at its first round) and kept, so N shots stay N images.
  const shotSubsets = new Map<string, CocoDataset>();

  const dpTask = (task: TrainTask__Output) => ({ taskId: task.task_id, noiseMultiplier: config.privacy.dp.noiseMultiplier, sampleRate: 1, steps: 1, clipNorm: config.privacy.dp.clipNorm });
  const budgetCtx = { site: siteId, stateDir: config.stateDir, epsilonBudget: config.privacy.dp.epsilonBudget, delta: config.privacy.dp.delta };

  /**
   * A run's few-shot subset, chosen at its first task and kept for the run. Random shots are seeded
   * by that task's seed and the site (never by the run id, which is random), so the same command
   * trains on the same images.
   */
  async function fewShotSubset(task: TrainTask__Output, det: TfDetector): Promise<CocoDataset> {
    if (task.shots <= 0 || task.shots >= dataset.images.length) return dataset;
    const selection = trainTaskSettings(task).shotsSelection;
    const key = `${task.run_id}/${task.shots}/${selection}`;
    const cached = shotSubsets.get(key);
    if (cached) return cached;
    let subset: CocoDataset;
    if (selection === "kcenter") {
      const samples = await Promise.all(dataset.images.map((_, index) => loadSample(dataset, index, { size: det.config.inputSize })));
      subset = subsetDataset(dataset, [...kCenterOrder(await embedSamples(det, samples), task.shots)].sort((a, b) => a - b));
    } else {
      subset = subsetDataset(dataset, randomShotIndices(dataset.images.length, task.shots, mixSeed(Number(task.hyperparameters?.seed ?? 0), hashString(siteId))));
    }
    logger.info({ runId: task.run_id, shots: task.shots, selection, images: subset.images.length }, "few-shot training subset chosen");
    shotSubsets.set(key, subset);
    return subset;
  }

  return {
    manifest(): DatasetManifest {
      return {
        domain,
        task: config.task,
        num_images: dataset.images.length,
        num_annotations: dataset.annotations.length,
        categories: dataset.categories.map((c) => ({ id: c.id, name: c.name, prompt: c.prompt })),
        annotations_sha256: sha256Hex(readFileSync(join(dataDir, "annotations.json"))),
        num_shareable: rawImages.filter((im) => im.shareable === true).length,
      };
    },

    checkTask(task) {
      if (!config.privacy.dp.enabled) return;
      try {
        checkEpsilonBudget(budgetCtx, dpTask(task));
      } catch (err) {
        if (err instanceof EpsilonBudgetExceededError) throw new TaskRefusedError(err.message, { cause: err });
        throw err;
      }
    },

    async train(task, baseCheckpoint, replay, onProgress, signal): Promise<LocalTrainResult> {
      backendReady ??= initBackend(config.backend);
      await backendReady;
      const { config: modelCfg, tensors: base } = parseCheckpoint(baseCheckpoint, `model ${task.base_version}`);
      lastDetector?.dispose();
      const det = detectorFromWeights(modelCfg, base);
      lastDetector = det;
      const h = trainTaskHyper(task.hyperparameters);
      const seed = Number(h.seed) + task.step * 1009 + task.round;
      const train = await fewShotSubset(task, det);
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
        augment: { flip: true, scaleJitter: 0.1, colorJitter: 0.1 },
        replay: replayDs && h.replay_ratio > 0 ? { dataset: replayDs, ratio: h.replay_ratio } : undefined,
        onProgress: (p) => onProgress({ fraction: p.totalSteps ? p.step / p.totalSteps : 0, loss: p.loss, imagesPerSec: p.imagesPerSec }),
        signal,
        engine: config.trainEngine,
        threads: config.trainThreads,
        executionProvider: config.executionProvider,
      });
      let delta = subtractTensors(det.getWeights(), base);
      const metrics = [
        { name: "loss_first", value: result.losses[0] ?? 0, step: 0 },
        { name: "loss_last", value: result.losses[result.losses.length - 1] ?? 0, step: result.steps },
        { name: "train_steps", value: result.steps, step: -1 },
        { name: "images_per_sec", value: result.imagesPerSec, step: -1 },
        { name: "train_seconds", value: (Date.now() - started) / 1000, step: -1 },
        { name: "replay_exemplars", value: replay.length, step: -1 },
      ];
      if (config.privacy.dp.enabled) {
        const p = privatizeDelta(delta, { clipNorm: config.privacy.dp.clipNorm, noiseMultiplier: config.privacy.dp.noiseMultiplier, seed });
        delta = p.delta;
        const plan = await recordEpsilonSpend(budgetCtx, dpTask(task));
        metrics.push({ name: "dp_epsilon", value: plan.after, step: -1 }, { name: "dp_update_norm", value: p.norm, step: -1 });
      }
      const encoding: DeltaEncoding = trainTaskSettings(task).deltaEncoding;
      const bytes = encodeDelta(delta, encoding, { "medfcl.base": task.base_version, "medfcl.site": siteId, "medfcl.task": task.task_id });
      logger.info({ taskId: task.task_id, engine: config.trainEngine, steps: result.steps, loss: result.losses.at(-1), imagesPerSec: result.imagesPerSec.toFixed(1), bytes: bytes.length }, "local training done");
      return {
        delta: bytes,
        manifest: [...delta].map(([name, t]) => ({ name, dtype: DTYPE_OF[encoding], shape: t.shape })),
        encoding,
        numSamples: train.images.length,
        metrics,
      };
    },

    async offerExemplars(task, count): Promise<ExemplarOffer[]> {
      const shareable = dataset.images.map((im, index) => ({ im, index })).filter(({ im }) => extras.get(im.id)?.shareable === true);
      if (shareable.length === 0) {
        logger.warn("no record in this dataset is marked shareable; no exemplar leaves the site");
        return [];
      }
      const seed = Number(task.hyperparameters?.seed ?? 1) + task.step;
      let picked: number[];
      const sampler = trainTaskSettings(task).exemplarSampler;
      if (sampler === "herding" && lastDetector) {
        const samples = await Promise.all(shareable.map(({ index }) => loadSample(dataset, index, { size: lastDetector!.config.inputSize })));
        const feats = await embedSamples(lastDetector, samples);
        picked = herdingOrder(feats, count).map((i) => shareable[i].index);
      } else {
        const items = shareable.map(({ im, index }) => ({ id: String(index), domain, categoryIds: (dataset.annotationsByImage.get(im.id) ?? []).map((a) => a.category_id), order: index }));
        picked = sampleReplay(items, count, sampler === "class-balanced" ? "class-balanced" : "random", seed).map((x) => Number(x.id));
      }
      const candidates: ExemplarCandidate[] = picked.map((index) => {
        const im = dataset.images[index];
        const ex: DatasetImageExtras = extras.get(im.id) ?? {};
        return {
          recordId: `${domain}/${im.file_name}`,
          imagePath: join(dataDir, im.file_name),
          shareable: ex.shareable === true,
          patientKey: ex.patient_id,
          quasiIdentifiers: ex.quasi_identifiers,
          boxes: (dataset.annotationsByImage.get(im.id) ?? []).map((a) => ({ bbox: a.bbox, category_id: a.category_id })),
          width: im.width,
          height: im.height,
        };
      });
      const { exported, refused } = await runExemplarPipeline(candidates, {
        site: siteId,
        config: config.privacy,
        siteSecret: secret,
        stateDir: config.stateDir,
        options: parseExemplarPipelineOptions(config.privacy.exemplarPipeline),
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
    },
  };
}
