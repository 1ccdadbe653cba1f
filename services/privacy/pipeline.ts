/**
 * The exemplar filter pipeline: policy -> metadata (or DICOM de-identification) -> pixels ->
 * dedupe, in this order for every candidate. A candidate either passes every stage and is
 * recorded (audit entry + state) before it is returned, or is refused naming the stage and why.
 */
import { readFile } from "node:fs/promises";
import sharp from "sharp";
import { type PrivacyConfig } from "../config/index.js";
import { sha256Hex } from "../store/index.js";
import { appendAuditEntry, auditLogPath, readAuditLog, type AuditEntryBody } from "./audit.js";
import { DEIDENTIFY_VERSION, isDicomPart10 } from "./dicom/deidentify.js";
import { runDicomJob } from "./dicom/bounded.js";
import { DicomError } from "./errors.js";
import { assertSiteSecret, siteHmac } from "./hmac.js";
import { defaultExemplarPipelineOptions, type ExemplarPipelineOptions } from "./options.js";
import { hammingDistance, phash64 } from "./phash.js";
import {
  cropBoxes,
  cropImage,
  detectContentRect,
  fitWithin,
  maskedFraction,
  maskRegions,
  roiRect,
  scaleBoxes,
  toPixelRect,
  type RgbImage,
} from "./pixels.js";
import { exemplarStatePath, foldAuditEntry, loadExemplarState, saveExemplarState, type ExemplarState } from "./state.js";
import { type ExemplarBox, type ExemplarCandidate, type ExportedExemplar, type PipelineResult, type RefusedExemplar, type StageRecord } from "./types.js";

export const STAGE_VERSIONS = {
  policy: "1",
  metadata: "1",
  dicom: DEIDENTIFY_VERSION,
  pixels: "1",
  dedupe: "phash-dct-64/1",
  reoffer: "same-source-same-bytes/1",
} as const;

export interface ExemplarPipelineContext {
  site: string;
  config: PrivacyConfig;
  siteSecret: string;
  /** Audit log, previous pHashes and budget counters live here (under `privacy/`). */
  stateDir: string;
  now?: () => Date;
  options?: ExemplarPipelineOptions;
  /** Run every stage but record nothing: no audit entry, no state change (`medfcl privacy check`). */
  dryRun?: boolean;
}

class Refusal {
  constructor(
    readonly stage: string,
    readonly reason: string,
  ) {}
}

function qiKey(q: Record<string, string>): string {
  return JSON.stringify(Object.keys(q).sort().map((k) => [k, q[k]]));
}

interface Decoded {
  image: RgbImage;
  stage: StageRecord;
}

async function decodeImage(bytes: Buffer): Promise<Decoded> {
  const img = sharp(bytes, { failOn: "error" });
  const meta = await img.metadata();
  const removed: string[] = [];
  if (meta.exif) removed.push(`exif (${meta.exif.length} bytes)`);
  if (meta.xmp) removed.push(`xmp (${meta.xmp.length} bytes)`);
  if (meta.iptc) removed.push(`iptc (${meta.iptc.length} bytes)`);
  if (meta.icc) removed.push(`icc profile (${meta.icc.length} bytes)`);
  const comments = (meta as { comments?: { keyword: string; text: string }[] }).comments ?? [];
  for (const c of comments) removed.push(`text chunk "${c.keyword}"`);
  removed.push(`container: re-encoded from ${meta.format ?? "unknown"}`);
  // Orientation is not applied: the boxes refer to the stored pixel grid, and the tag itself goes.
  const { data, info } = await img.flatten({ background: "#000000" }).toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  const rgb = new Uint8Array(n * 3);
  if (info.channels === 3) rgb.set(data);
  else for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = data[i * info.channels + Math.min(c, info.channels - 1)];
  return { image: { width: info.width, height: info.height, data: rgb }, stage: { name: "metadata", version: STAGE_VERSIONS.metadata, removed } };
}

async function decodeDicom(bytes: Buffer, cand: ExemplarCandidate, secret: string): Promise<Decoded> {
  // In a worker with a time and memory budget: one pathological file must not stall the site's exemplar export.
  const r = await runDicomJob({ op: "render", bytes, options: { siteSecret: secret }, path: cand.imagePath });
  if (r.op !== "render") throw new DicomError(cand.imagePath, "the decoder answered with the wrong result");
  return { image: r.image, stage: { name: "dicom-deid", version: STAGE_VERSIONS.dicom, removed: [...r.removed, "container: DICOM rendered to pixels; no DICOM attribute leaves"] } };
}

interface PixelResult {
  /** Masked and cropped, before the downscale (sharp resamples it while encoding). */
  image: RgbImage;
  target: { width: number; height: number };
  boxes: ExemplarBox[];
  stage: StageRecord;
}

function pixelStage(src: RgbImage, boxes: ExemplarBox[], opts: ExemplarPipelineOptions, maxSide: number): PixelResult {
  const removed: string[] = [];
  let img = src;
  let cur = boxes.map((b) => ({ bbox: [...b.bbox] as ExemplarBox["bbox"], category_id: b.category_id }));
  const droppedBoxes: string[] = [];

  if (opts.overlayRegions.length > 0) {
    const rects = opts.overlayRegions.map((r) => toPixelRect(r, img.width, img.height)).filter((r) => r.w > 0 && r.h > 0);
    const masked = maskRegions(img, rects);
    img = masked.image;
    opts.overlayRegions.forEach((r, i) => {
      const p = rects[i];
      if (p) removed.push(`masked ${r.label ?? "overlay"} at ${p.x},${p.y} ${p.w}x${p.h}`);
    });
    cur = cur.filter((b, i) => {
      const f = maskedFraction(masked.mask, img.width, img.height, b.bbox);
      if (f > 1 - opts.boxMinVisible) {
        droppedBoxes.push(`box ${i} (category ${b.category_id}) is ${(f * 100).toFixed(0)}% under a mask`);
        return false;
      }
      return true;
    });
  }

  const content = detectContentRect(img, opts.borderThreshold, opts.borderMinContent);
  if (content.w < img.width || content.h < img.height) {
    removed.push(`black border: cropped ${img.width}x${img.height} to ${content.w}x${content.h} at ${content.x},${content.y}`);
    const t = cropBoxes(cur, content, opts.boxMinVisible);
    droppedBoxes.push(...t.dropped.map((d) => d.reason));
    cur = t.boxes;
    img = cropImage(img, content);
  }

  if (opts.roiCrop) {
    const roi = roiRect(cur, opts.roiMargin, img.width, img.height);
    if (roi && (roi.w < img.width || roi.h < img.height)) {
      removed.push(`outside the lesion ROI: cropped to ${roi.w}x${roi.h} at ${roi.x},${roi.y} (margin ${opts.roiMargin})`);
      const t = cropBoxes(cur, roi, opts.boxMinVisible);
      droppedBoxes.push(...t.dropped.map((d) => d.reason));
      cur = t.boxes;
      img = cropImage(img, roi);
    }
  }

  const target = fitWithin(img.width, img.height, maxSide);
  if (target.width !== img.width || target.height !== img.height) {
    removed.push(`resolution: downscaled ${img.width}x${img.height} to ${target.width}x${target.height}`);
    cur = scaleBoxes(cur, target.width / img.width, target.height / img.height);
  }
  removed.push(...droppedBoxes);
  return { image: img, target, boxes: cur, stage: { name: "pixels", version: STAGE_VERSIONS.pixels, removed } };
}

async function encode(src: RgbImage, target: { width: number; height: number }, opts: ExemplarPipelineOptions): Promise<{ bytes: Buffer; raw: RgbImage }> {
  let pipe = sharp(Buffer.from(src.data.buffer, src.data.byteOffset, src.data.byteLength), { raw: { width: src.width, height: src.height, channels: 3 } });
  let raw = src;
  if (target.width !== src.width || target.height !== src.height) {
    const resized = await pipe.resize(target.width, target.height, { fit: "fill", kernel: "lanczos3" }).raw().toBuffer();
    raw = { width: target.width, height: target.height, data: new Uint8Array(resized) };
    pipe = sharp(resized, { raw: { width: target.width, height: target.height, channels: 3 } });
  }
  // sharp writes no metadata unless asked (withMetadata/keepExif are never called here).
  const bytes = opts.format === "png" ? await pipe.png({ compressionLevel: 6 }).toBuffer() : await pipe.jpeg({ quality: opts.jpegQuality, mozjpeg: false }).toBuffer();
  return { bytes, raw };
}

/**
 * Runs every candidate through the pipeline in order. Budget and caps count exports of earlier
 * runs (from the state in `stateDir`) and of earlier candidates in this call; a refused candidate
 * never consumes budget.
 */
export async function runExemplarPipeline(cands: ExemplarCandidate[], ctx: ExemplarPipelineContext): Promise<PipelineResult> {
  assertSiteSecret(ctx.siteSecret);
  const opts = ctx.options ?? defaultExemplarPipelineOptions();
  const cfg = ctx.config;
  const now = ctx.now ?? (() => new Date());
  const logPath = auditLogPath(ctx.stateDir, ctx.site);
  const statePath = exemplarStatePath(ctx.stateDir, ctx.site);
  const audit = readAuditLog(logPath);
  const state: ExemplarState = loadExemplarState(statePath, ctx.site, audit);
  let tail = audit.length === 0 ? undefined : { seq: audit[audit.length - 1].seq, hash: audit[audit.length - 1].hash };

  const groupSizes = new Map<string, number>();
  for (const c of cands) {
    if (c.shareable && c.quasiIdentifiers) {
      const k = qiKey(c.quasiIdentifiers);
      groupSizes.set(k, (groupSizes.get(k) ?? 0) + 1);
    }
  }

  const exported: ExportedExemplar[] = [];
  const refused: RefusedExemplar[] = [];
  for (const cand of cands) {
    try {
      // policy
      if (!cand.shareable) throw new Refusal("policy", "the site manifest does not mark this record shareable");
      const sourceHmac = siteHmac(ctx.siteSecret, "record", cand.recordId);
      // A record exported before may be offered again (a later run's buffer); whether it is a true
      // re-offer is known only once its bytes are made, so the spending checks wait until then.
      const priorContent = state.bySource[sourceHmac];
      const patientHmac = cand.patientKey ? siteHmac(ctx.siteSecret, "patient", cand.patientKey) : undefined;
      const checkSpending = (): void => {
        if (state.exported >= cfg.exemplarBudget) throw new Refusal("policy", `the site's exemplar budget of ${cfg.exemplarBudget} is used up`);
        if (cfg.perPatientCap !== undefined && patientHmac && (state.perPatient[patientHmac] ?? 0) >= cfg.perPatientCap) {
          throw new Refusal("policy", `this patient already has ${cfg.perPatientCap} exported exemplar(s), the per-patient cap`);
        }
      };
      if (priorContent === undefined) checkSpending();
      if (cfg.kAnonymity !== undefined) {
        if (!cand.quasiIdentifiers || Object.keys(cand.quasiIdentifiers).length === 0) {
          throw new Refusal("policy", `k-anonymity (k=${cfg.kAnonymity}) is on but the record declares no quasi-identifiers`);
        }
        const size = groupSizes.get(qiKey(cand.quasiIdentifiers)) ?? 0;
        if (size < cfg.kAnonymity) throw new Refusal("policy", `its quasi-identifier group has ${size} shareable record(s), fewer than k=${cfg.kAnonymity}`);
      }
      const stages: StageRecord[] = [{ name: "policy", version: STAGE_VERSIONS.policy }];

      // metadata / DICOM
      let bytes: Buffer;
      try {
        bytes = await readFile(cand.imagePath);
      } catch (err) {
        throw new Refusal("metadata", `cannot read ${cand.imagePath}: ${(err as Error).message}`);
      }
      let decoded: Decoded;
      const dicom = isDicomPart10(bytes);
      try {
        decoded = dicom ? await decodeDicom(bytes, cand, ctx.siteSecret) : await decodeImage(bytes);
      } catch (err) {
        throw new Refusal(dicom ? "dicom-deid" : "metadata", `cannot decode ${cand.imagePath}: ${(err as Error).message}`);
      }
      stages.push(decoded.stage);
      if (decoded.image.width !== cand.width || decoded.image.height !== cand.height) {
        throw new Refusal(
          decoded.stage.name,
          `the file is ${decoded.image.width}x${decoded.image.height} but the record declares ${cand.width}x${cand.height}; its boxes would not match the pixels`,
        );
      }

      // pixels
      const px = pixelStage(decoded.image, cand.boxes, opts, cfg.maxSide);
      stages.push(px.stage);
      if (opts.refuseIfAllBoxesLost && cand.boxes.length > 0 && px.boxes.length === 0) {
        throw new Refusal("pixels", `all ${cand.boxes.length} box(es) were masked or cropped away; an unlabeled lesion must not replay`);
      }
      const enc = await encode(px.image, px.target, opts);

      const contentSha256 = sha256Hex(enc.bytes);
      const exportedAt = now().toISOString();
      const mime = opts.format === "png" ? "image/png" : "image/jpeg";
      let entryBody: AuditEntryBody;
      if (priorContent === contentSha256) {
        // The very bytes already released: the dedupe would only find the record itself.
        stages.push({ name: "reoffer", version: STAGE_VERSIONS.reoffer });
        entryBody = { type: "exemplar-reoffer", site: ctx.site, time: exportedAt, contentSha256, sourceHmac };
      } else {
        // New bytes (first export, or the record re-processed differently): a new disclosure.
        if (priorContent !== undefined) checkSpending();
        const phash = phash64(enc.raw);
        for (const prev of state.phashes) {
          const d = hammingDistance(phash, prev.phash);
          if (d <= cfg.dedupeHamming) {
            throw new Refusal("dedupe", `near duplicate of exported exemplar ${prev.contentSha256.slice(0, 12)}… (pHash Hamming distance ${d} ≤ ${cfg.dedupeHamming})`);
          }
        }
        stages.push({ name: "dedupe", version: STAGE_VERSIONS.dedupe });
        entryBody = { type: "exemplar-export", site: ctx.site, time: exportedAt, contentSha256, sourceHmac, patientHmac, phash, mime, width: enc.raw.width, height: enc.raw.height, stages };
      }
      if (ctx.dryRun) {
        foldAuditEntry(state, { ...entryBody, seq: state.auditEntries, prevHash: "", hash: "" });
      } else {
        const entry = appendAuditEntry(logPath, entryBody, tail ?? { seq: -1, hash: "0".repeat(64) });
        tail = { seq: entry.seq, hash: entry.hash };
        foldAuditEntry(state, entry);
        await saveExemplarState(statePath, state);
      }
      exported.push({
        recordId: cand.recordId,
        sha256: contentSha256,
        bytes: enc.bytes,
        mime,
        width: enc.raw.width,
        height: enc.raw.height,
        boxes: px.boxes,
        provenance: { contentSha256, sourceHmac, site: ctx.site, stages, exportedAt },
      });
    } catch (err) {
      if (err instanceof Refusal) refused.push({ recordId: cand.recordId, stage: err.stage, reason: err.reason });
      else throw err;
    }
  }
  return { exported, refused };
}
