import { z } from "zod";
import { PrivacyArgumentError } from "./errors.js";
import { type RelativeRect } from "./types.js";

/**
 * How the pipeline cuts and encodes what leaves: overlay regions, ROI crop, border detection, the
 * output format. Every field has a default; a site sets them under `agent.privacy.exemplarPipeline`
 * in its config (or `--options FILE` for `medfcl privacy check`).
 */
export interface ExemplarPipelineOptions {
  /** Regions painted black before any crop (scope insets, burned-in text bands), in fractions of the source. */
  overlayRegions: RelativeRect[];
  /** Crop to the union of the boxes plus `roiMargin`; off by default so the whole scene replays. */
  roiCrop: boolean;
  /** ROI margin as a fraction of the ROI's longer side. */
  roiMargin: number;
  /** A pixel is "black" when every channel is at or below this (0..255). */
  borderThreshold: number;
  /** A row or column is content when more than this fraction of its pixels are not black. */
  borderMinContent: number;
  /** A box that keeps less than this fraction of its area after masks and crops is dropped. */
  boxMinVisible: number;
  /** Refuse a record that had boxes and lost all of them (an unlabeled lesion would teach the wrong thing). */
  refuseIfAllBoxesLost: boolean;
  /** Output encoding; PNG keeps pixels exact. */
  format: "png" | "jpeg";
  jpegQuality: number;
}

export function defaultExemplarPipelineOptions(): ExemplarPipelineOptions {
  return {
    overlayRegions: [],
    roiCrop: false,
    roiMargin: 0.25,
    borderThreshold: 16,
    borderMinContent: 0.02,
    boxMinVisible: 0.5,
    refuseIfAllBoxesLost: true,
    format: "png",
    jpegQuality: 92,
  };
}

const rectSchema = z
  .object({
    x: z.number().min(0).max(1),
    y: z.number().min(0).max(1),
    w: z.number().positive().max(1),
    h: z.number().positive().max(1),
    label: z.string().optional(),
  })
  .strict();

/** The pipeline options as a partial object (config files, `--options` JSON); defaults fill the rest. */
export const exemplarPipelineOptionsSchema = z
  .object({
    overlayRegions: z.array(rectSchema),
    roiCrop: z.boolean(),
    roiMargin: z.number().min(0).max(10),
    borderThreshold: z.number().int().min(0).max(254),
    borderMinContent: z.number().min(0).max(1),
    boxMinVisible: z.number().min(0).max(1),
    refuseIfAllBoxesLost: z.boolean(),
    format: z.enum(["png", "jpeg"]),
    jpegQuality: z.number().int().min(1).max(100),
  })
  .strict()
  .partial();

/** Validates a partial options object (e.g. from a JSON file) and fills the defaults. */
export function parseExemplarPipelineOptions(input: unknown = {}): ExemplarPipelineOptions {
  const parsed = exemplarPipelineOptionsSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PrivacyArgumentError(`invalid exemplar pipeline option "${issue.path.join(".")}": ${issue.message}`, {
      details: { field: issue.path.join(".") },
    });
  }
  return { ...defaultExemplarPipelineOptions(), ...parsed.data } as ExemplarPipelineOptions;
}

/** Named overlay presets for the usual endoscopy layouts; sites combine or replace them. */
export const overlayPresets: Record<string, RelativeRect[]> = {
  "scope-inset-bottom-left": [{ x: 0, y: 0.7, w: 0.3, h: 0.3, label: "scope inset" }],
  "scope-inset-bottom-right": [{ x: 0.7, y: 0.7, w: 0.3, h: 0.3, label: "scope inset" }],
  "text-band-top": [{ x: 0, y: 0, w: 1, h: 0.08, label: "text band" }],
  "text-band-bottom": [{ x: 0, y: 0.92, w: 1, h: 0.08, label: "text band" }],
};
