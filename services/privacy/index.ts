export {
  type ExemplarCandidate,
  type ExportedExemplar,
  type ProvenanceRecord,
  type RefusedExemplar,
  type ExemplarBox,
  type StageRecord,
  type PipelineResult,
  type RelativeRect,
  type AuditVerifyResult,
} from "./types.js";
export { PrivacyArgumentError, DicomError, PrivacyStateError, EpsilonBudgetExceededError } from "./errors.js";
export { defaultExemplarPipelineOptions, parseExemplarPipelineOptions, overlayPresets, type ExemplarPipelineOptions } from "./options.js";
export { runExemplarPipeline, STAGE_VERSIONS, type ExemplarPipelineContext } from "./pipeline.js";
export { checkExemplarFiles, type CheckFilesOptions, type CheckFilesResult, type CheckManifest } from "./check.js";
export {
  verifyAuditLog,
  readAuditLog,
  appendAuditEntry,
  auditLogPath,
  canonicalJson,
  GENESIS_HASH,
  type AuditEntry,
  type ExemplarAuditEntry,
  type DpSpendAuditEntry,
} from "./audit.js";
export { exemplarStatePath, type ExemplarState } from "./state.js";
export { phash64, hammingDistance } from "./phash.js";
export { sanitizeImage, sniffImageFormat, imageMetadataCarriers, ImageRefusedError, DEFAULT_IMAGE_LIMITS, MIME_OF, type ImageLimits, type ImageFormat, type SanitizedImage } from "./image-sanitize.js";
export { siteHmac } from "./hmac.js";
export { deidentifyDicom, deidentifyDataset, readDicom, remapUid, isDicomPart10, DEIDENTIFICATION_METHOD, DEIDENTIFY_VERSION, type DeidentifyOptions, type DeidentifyResult } from "./dicom/deidentify.js";
export { renderDicomFrame } from "./dicom/render.js";
export { runDicomJob, DicomBudgetError, DEFAULT_DICOM_BUDGET, type DicomBudget, type DicomJob, type DicomJobResult } from "./dicom/bounded.js";
export { normalizeDicom, type NormalizedDicom } from "./dicom/normalize.js";
export { basicProfileTable, resolveAction, profileEntryFor, type ProfileAction, type ResolvedAction } from "./dicom/profile.js";
export { privatizeDelta, gaussianSampler, type PrivatizeOptions } from "./dp.js";
export { computeEpsilon, sampledGaussianRdp, rdpToEpsilon, defaultRdpOrders, type ComputeEpsilonOptions } from "./rdp.js";
export {
  checkEpsilonBudget,
  recordEpsilonSpend,
  loadEpsilonLedger,
  epsilonLedgerPath,
  type DpTask,
  type EpsilonLedger,
  type EpsilonBudgetContext,
  type EpsilonPlan,
} from "./budget.js";
