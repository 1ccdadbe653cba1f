/** A box in COCO form: x, y, w, h in the pixels of the image it belongs to. */
export interface ExemplarBox {
  bbox: [number, number, number, number];
  category_id: number;
}

/** One record a site agent proposes to export as a replay exemplar. */
export interface ExemplarCandidate {
  recordId: string;
  /** A PNG/JPEG/other image sharp can decode, or a DICOM Part 10 file. */
  imagePath: string;
  /** Set from the site manifest; nothing else makes a record exportable. */
  shareable: boolean;
  /** Declared patient key (e.g. MRN); only its HMAC is ever stored. */
  patientKey?: string;
  /** Declared quasi-identifiers (age band, sex, ...) for k-anonymity. */
  quasiIdentifiers?: Record<string, string>;
  boxes: ExemplarBox[];
  width: number;
  height: number;
}

export interface StageRecord {
  name: string;
  version: string;
  /** What the stage took away, in words a reviewer can read ("exif", "PatientName (0010,0010)", ...). */
  removed?: string[];
}

export interface ProvenanceRecord {
  contentSha256: string;
  /** HMAC-SHA256(site secret, recordId), hex: links an export back to its record only at the site. */
  sourceHmac: string;
  site: string;
  stages: StageRecord[];
  exportedAt: string;
}

export interface ExportedExemplar {
  recordId: string;
  sha256: string;
  bytes: Buffer;
  mime: "image/png" | "image/jpeg";
  width: number;
  height: number;
  /** Transformed by the masks, crops and downscale. */
  boxes: ExemplarBox[];
  provenance: ProvenanceRecord;
}

export interface RefusedExemplar {
  recordId: string;
  stage: string;
  reason: string;
}

export interface PipelineResult {
  exported: ExportedExemplar[];
  refused: RefusedExemplar[];
}

/** A rectangle in fractions of the source image (0..1), so one config fits every resolution. */
export interface RelativeRect {
  x: number;
  y: number;
  w: number;
  h: number;
  /** Free text for the manifest, e.g. "scope inset" or "text band". */
  label?: string;
}

/** The result of {@link verifyAuditLog}. `line` is 1-based. */
export interface AuditVerifyResult {
  ok: boolean;
  entries: number;
  firstBroken?: { line: number; reason: string };
}
