/**
 * `medfcl privacy check`: the pipeline in dry-run mode over loose files. Writes exactly the bytes
 * that would leave the site, named by their content hash, plus manifest.json saying what each
 * stage removed from each file and why refused files stay.
 */
import { readFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import sharp from "sharp";
import { type PrivacyConfig } from "../config/index.js";
import { writeFileAtomic } from "../store/index.js";
import { isDicomPart10, readDicom } from "./dicom/deidentify.js";
import { type ExemplarPipelineOptions } from "./options.js";
import { runExemplarPipeline } from "./pipeline.js";
import { type ExemplarBox, type ExemplarCandidate } from "./types.js";

export interface CheckFilesOptions {
  out: string;
  site: string;
  config: PrivacyConfig;
  siteSecret: string;
  /** Read (never written) for budgets and earlier pHashes; a fresh empty state when absent. */
  stateDir: string;
  options?: ExemplarPipelineOptions;
  /** Optional boxes per file path, so the pixel stage can show what happens to them. */
  boxes?: Record<string, ExemplarBox[]>;
  now?: () => Date;
}

export interface CheckManifestFile {
  source: string;
  recordId: string;
  status: "would-export" | "refused";
  file?: string;
  sha256?: string;
  width?: number;
  height?: number;
  boxes?: ExemplarBox[];
  /** Stage name -> what it removed. */
  removed?: Record<string, string[]>;
  stage?: string;
  reason?: string;
}

export interface CheckManifest {
  site: string;
  generatedAt: string;
  dryRun: true;
  files: CheckManifestFile[];
}

export interface CheckFilesResult {
  manifestPath: string;
  manifest: CheckManifest;
  written: string[];
}

async function dimensions(path: string): Promise<{ width: number; height: number }> {
  try {
    const bytes = await readFile(path);
    if (isDicomPart10(bytes)) {
      const d = readDicom(bytes, path);
      return { width: Number(d.dict["00280011"]?.Value?.[0] ?? 0), height: Number(d.dict["00280010"]?.Value?.[0] ?? 0) };
    }
    const m = await sharp(bytes).metadata();
    return { width: m.width ?? 0, height: m.height ?? 0 };
  } catch {
    // The pipeline reports the real reason in the stage that fails to decode the file.
    return { width: 0, height: 0 };
  }
}

export async function checkExemplarFiles(files: string[], opts: CheckFilesOptions): Promise<CheckFilesResult> {
  const cands: ExemplarCandidate[] = [];
  const byId = new Map<string, string>();
  for (const [i, f] of files.entries()) {
    const path = resolve(f);
    const recordId = `${i}:${basename(f)}`;
    byId.set(recordId, f);
    const dims = await dimensions(path);
    cands.push({ recordId, imagePath: path, shareable: true, boxes: opts.boxes?.[f] ?? [], ...dims });
  }
  const res = await runExemplarPipeline(cands, {
    site: opts.site,
    config: opts.config,
    siteSecret: opts.siteSecret,
    stateDir: opts.stateDir,
    options: opts.options,
    now: opts.now,
    dryRun: true,
  });
  const written: string[] = [];
  const entries: CheckManifestFile[] = [];
  for (const e of res.exported) {
    const file = `${e.sha256}.${e.mime === "image/png" ? "png" : "jpg"}`;
    await writeFileAtomic(join(opts.out, file), e.bytes);
    written.push(file);
    const removed: Record<string, string[]> = {};
    for (const s of e.provenance.stages) removed[s.name] = s.removed ?? [];
    entries.push({ source: byId.get(e.recordId) ?? e.recordId, recordId: e.recordId, status: "would-export", file, sha256: e.sha256, width: e.width, height: e.height, boxes: e.boxes, removed });
  }
  for (const r of res.refused) entries.push({ source: byId.get(r.recordId) ?? r.recordId, recordId: r.recordId, status: "refused", stage: r.stage, reason: r.reason });
  entries.sort((a, b) => parseInt(a.recordId, 10) - parseInt(b.recordId, 10));
  const manifest: CheckManifest = { site: opts.site, generatedAt: (opts.now ?? (() => new Date()))().toISOString(), dryRun: true, files: entries };
  const manifestPath = join(opts.out, "manifest.json");
  await writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { manifestPath, manifest, written };
}
