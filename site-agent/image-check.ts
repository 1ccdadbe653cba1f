/**
 * The site's images, decoded once when the agent starts, with the decoder training uses: a file
 * that does not decode (a truncated JPEG) or whose size differs from its record is found here and
 * named, instead of failing the first task that draws it and costing the site its step. Results
 * are cached by content hash in the state dir, so a restart only decodes new or changed files.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { decodeImage, type CocoDataset, type ImageInfo } from "../services/data/index.js";
import type { Logger } from "../services/log/index.js";
import { writeFileAtomicSync } from "../services/store/index.js";

/** What the agent does with images that do not decode: train without them, or refuse to start. */
export const BAD_IMAGE_POLICIES = ["skip", "refuse"] as const;
export type BadImagePolicy = (typeof BAD_IMAGE_POLICIES)[number];

export interface BadImage {
  imageId: number;
  /** As the record names it (relative to the dataset folder). */
  file: string;
  reason: string;
}

export interface ImageCheck {
  bad: BadImage[];
  checked: number;
  /** Images whose result came from the cache (same content hash as a file decoded before). */
  cached: number;
  ms: number;
}

const CACHE_FILE = "image-check.json";
const CACHE_VERSION = 1;
const cacheSchema = z.object({
  version: z.literal(CACHE_VERSION),
  results: z.record(z.union([z.object({ ok: z.literal(true), width: z.number(), height: z.number() }), z.object({ ok: z.literal(false), reason: z.string() })])),
});
type Result = z.infer<typeof cacheSchema>["results"][string];

function readCache(path: string): Map<string, Result> {
  try {
    const parsed = cacheSchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
    return new Map(parsed.success ? Object.entries(parsed.data.results) : []);
  } catch {
    return new Map(); // absent or unreadable: decode everything again
  }
}

async function decodeResult(path: string): Promise<Result> {
  try {
    const img = await decodeImage(path);
    return { ok: true, width: img.width, height: img.height };
  } catch (err) {
    // The record already names the file; the site's absolute paths stay at the site.
    const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
    return { ok: false, reason: message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message };
  }
}

/** Decodes every image of `ds` (at most `concurrency` at a time), reusing the cache in `stateDir`. */
export async function checkImages(ds: CocoDataset, stateDir: string, logger?: Logger, concurrency = 4): Promise<ImageCheck> {
  const started = Date.now();
  const cachePath = join(stateDir, CACHE_FILE);
  const cache = readCache(cachePath);
  const seen = new Map<string, Result>();
  const bad: BadImage[] = [];
  let cached = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ds.images.length) {
      const im = ds.images[next++];
      const path = join(ds.dir, im.file_name);
      let bytes: Buffer;
      try {
        bytes = await readFile(path);
      } catch (err) {
        bad.push({ imageId: im.id, file: im.file_name, reason: `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
        continue;
      }
      const sha = createHash("sha256").update(bytes).digest("hex");
      let result = cache.get(sha);
      if (result) cached++;
      else result = await decodeResult(path);
      if (!result.ok && !cache.has(sha)) failed.push({ im, path, sha });
      else record(im, sha, result);
    }
  };
  const record = (im: ImageInfo, sha: string, result: Result): void => {
    seen.set(sha, result);
    if (!result.ok) bad.push({ imageId: im.id, file: im.file_name, reason: result.reason });
    else if (result.width !== im.width || result.height !== im.height) {
      bad.push({ imageId: im.id, file: im.file_name, reason: `the record says ${im.width}x${im.height} but the file is ${result.width}x${result.height}` });
    }
  };
  const failed: { im: ImageInfo; path: string; sha: string }[] = [];
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  // libvips keeps one error message per process: decodes failing side by side may read "Unknown
  // error". Each failure is decoded again, alone, for its real reason.
  for (const f of failed) record(f.im, f.sha, await decodeResult(f.path));
  try {
    writeFileAtomicSync(cachePath, JSON.stringify({ version: CACHE_VERSION, results: Object.fromEntries(seen) }));
  } catch (err) {
    logger?.warn({ err: (err as Error).message }, "image check cache not written; the next start decodes every image again");
  }
  bad.sort((a, b) => a.imageId - b.imageId);
  return { bad, checked: ds.images.length, cached, ms: Date.now() - started };
}

/** The notes that tell the coordinator which files were left out (ReportMetrics allows 64 of 4000 characters). */
export function badImageNotes(bad: BadImage[], total: number, policy: BadImagePolicy): string[] {
  if (bad.length === 0) return [];
  const head = `site start-up: ${bad.length} of ${total} images do not decode or do not match their record; policy "${policy}": ${policy === "skip" ? "training without them" : "refusing to start"}`;
  const lines = bad.slice(0, 60).map((b) => `bad image ${b.file} (image ${b.imageId}): ${b.reason}`.slice(0, 4000));
  if (bad.length > 60) lines.push(`... and ${bad.length - 60} more bad images (see the agent's log)`);
  return [head, ...lines];
}
