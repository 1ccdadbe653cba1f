export {
  evaluateCoco,
  accumulateCoco,
  summarizeCoco,
  perCategoryAp,
  pairwiseSum,
  meanDefined,
  IOU_THRESHOLDS,
  RECALL_THRESHOLDS,
  MAX_DETS,
  AREA_RANGES,
  AREA_RANGE_LABELS,
} from "./coco.js";
export {
  parseCocoGt,
  parseDetections,
  loadCocoGtFile,
  loadDetectionsFile,
  readJsonFile,
  formatCocoSummary,
  formatFixed3,
} from "./coco-io.js";
export { syntheticCocoWorkload, mulberry32, type SyntheticCocoOptions } from "./synthetic.js";
export { EvalInputError, ReportError } from "./errors.js";
export type {
  CocoGt,
  CocoDetection,
  CocoEvalResult,
  CocoEvalArrays,
  AccuracyMatrix,
  ClMetrics,
  CrossMatrix,
  ParadigmTable,
} from "./types.js";
export {
  continualMetrics,
  parseAccuracyMatrix,
  parseBaseAp,
  accuracyMatrixCsv,
  formatMetricsTable,
  AccuracyMatrixBuilder,
} from "./metrics.js";
export { writeAuditReport, parseCrossMatrix, parseParadigmTable } from "./report.js";
export { heatmapSvg, lineChartSvg, scatterPanelsSvg, viridis, type HeatmapSpec, type LineChartSpec, type ScatterPanel, type ScatterPoint } from "./svg.js";
