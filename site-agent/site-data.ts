import { readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { AgentConfig } from "../services/config/index.js";
import { DataValidationError, loadCocoDataset, subsetDataset, type CocoDataset } from "../services/data/index.js";
import { ErrorCode, MedfclError } from "../services/errors/index.js";
import type { Logger } from "../services/log/index.js";
import { sha256Hex } from "../services/store/index.js";
import type { DatasetManifest } from "../generated/medfcl/v1/DatasetManifest.js";
import { badImageNotes, checkImages, type BadImage } from "./image-check.js";

/** Per-image fields of the site's annotations.json that the COCO loader does not keep. */
export interface DatasetImageExtras {
  shareable?: boolean;
  patient_id?: string;
  quasi_identifiers?: Record<string, string>;
}

/** The site's own data: loaded once, read by the trainer, the few-shot selection and the offerer. */
export interface SiteData {
  dir: string;
  dataset: CocoDataset;
  domain: string;
  extrasOf(imageId: number): DatasetImageExtras;
  manifest(): DatasetManifest;
  /** Images left out at start-up because they do not decode (agent.badImages "skip"). */
  badImages: BadImage[];
  /** Site notes for the coordinator about the data (the bad images, by name). */
  notes: string[];
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

/**
 * Loads the site's folder. With a state dir, every image is decoded once first (image-check.ts):
 * under agent.badImages "skip" (the default) the ones that fail are left out and named in the log
 * and the notes; under "refuse" the agent does not start.
 */
export async function loadSiteData(config: Pick<AgentConfig, "data" | "domain" | "task"> & Partial<Pick<AgentConfig, "stateDir" | "badImages">>, logger?: Logger): Promise<SiteData> {
  if (!config.data) throw new MedfclError(ErrorCode.InvalidArgument, "agent.data is not set: point it at the site's COCO folder (annotations.json + images/)", { details: { key: "agent.data" } });
  const dir = resolve(config.data);
  let dataset = await loadCocoDataset(dir);
  let badImages: BadImage[] = [];
  let notes: string[] = [];
  if (config.stateDir) {
    const policy = config.badImages ?? "skip";
    const check = await checkImages(dataset, config.stateDir, logger);
    badImages = check.bad;
    notes = badImageNotes(badImages, dataset.images.length, policy);
    logger?.info({ images: check.checked, cached: check.cached, bad: badImages.length, ms: check.ms }, "site images decoded");
    if (badImages.length && policy === "refuse") {
      throw new DataValidationError(
        dir,
        badImages.map((b) => ({ file: join(dir, b.file), record: `image ${b.imageId}`, field: "file_name", message: `does not decode: ${b.reason}` })),
        { details: { hint: "replace or remove these files, or start the agent with --bad-images skip (agent.badImages) to train without them" } },
      );
    }
    for (const b of badImages) logger?.warn({ file: join(dir, b.file), imageId: b.imageId, reason: b.reason }, "bad image: the site trains without it (agent.badImages skip)");
    if (badImages.length) {
      const bad = new Set(badImages.map((b) => b.imageId));
      dataset = subsetDataset(dataset, dataset.images.flatMap((im, i) => (bad.has(im.id) ? [] : [i])));
    }
  }
  const domain = config.domain ?? domainFromPath(dir);
  const rawImages = (JSON.parse(readFileSync(join(dir, "annotations.json"), "utf8")) as { images: (DatasetImageExtras & { id: number })[] }).images;
  const extras = new Map(rawImages.map((im) => [im.id, im]));
  const kept = new Set(dataset.images.map((im) => im.id));
  return {
    dir,
    dataset,
    domain,
    badImages,
    notes,
    extrasOf: (imageId) => extras.get(imageId) ?? {},
    manifest: () => ({
      domain,
      task: config.task,
      num_images: dataset.images.length,
      num_annotations: dataset.annotations.length,
      categories: dataset.categories.map((c) => ({ id: c.id, name: c.name, prompt: c.prompt })),
      annotations_sha256: sha256Hex(readFileSync(join(dir, "annotations.json"))),
      num_shareable: rawImages.filter((im) => im.shareable === true && kept.has(im.id)).length,
    }),
  };
}
