import { readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { AgentConfig } from "../services/config/index.js";
import { loadCocoDataset, type CocoDataset } from "../services/data/index.js";
import { ErrorCode, MedfclError } from "../services/errors/index.js";
import { sha256Hex } from "../services/store/index.js";
import type { DatasetManifest } from "../generated/medfcl/v1/DatasetManifest.js";

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

export async function loadSiteData(config: Pick<AgentConfig, "data" | "domain" | "task">): Promise<SiteData> {
  if (!config.data) throw new MedfclError(ErrorCode.InvalidArgument, "agent.data is not set: point it at the site's COCO folder (annotations.json + images/)", { details: { key: "agent.data" } });
  const dir = resolve(config.data);
  const dataset = await loadCocoDataset(dir);
  const domain = config.domain ?? domainFromPath(dir);
  const rawImages = (JSON.parse(readFileSync(join(dir, "annotations.json"), "utf8")) as { images: (DatasetImageExtras & { id: number })[] }).images;
  const extras = new Map(rawImages.map((im) => [im.id, im]));
  return {
    dir,
    dataset,
    domain,
    extrasOf: (imageId) => extras.get(imageId) ?? {},
    manifest: () => ({
      domain,
      task: config.task,
      num_images: dataset.images.length,
      num_annotations: dataset.annotations.length,
      categories: dataset.categories.map((c) => ({ id: c.id, name: c.name, prompt: c.prompt })),
      annotations_sha256: sha256Hex(readFileSync(join(dir, "annotations.json"))),
      num_shareable: rawImages.filter((im) => im.shareable === true).length,
    }),
  };
}
