export { runExperiment, defaultExperimentOptions, parseExperimentOptions, matrixFolder, suiteOfDataRoot } from "./run.js";
export { experimentPlan, isContinual, planSessions, type PlanOptions } from "./plan.js";
export {
  PAPER_AVERAGES,
  acceptanceChecks,
  aggregateCells,
  aggregateParadigms,
  checksMarkdown,
  crossMatrixFromR,
  matrixCsv,
  matrixMarkdown,
  meanStd,
  paradigmTableFor,
  paradigmsCsv,
  paradigmsMarkdown,
  rowAverages,
  spearman,
  transferCorrelation,
  type Check,
} from "./tables.js";
export { ExperimentError } from "./errors.js";
export { dataFingerprint } from "./store.js";
export { EXPERIMENT_KINDS, type ExperimentKind, type ExperimentOptions, type ExperimentSummary, type MeanStd, type PlannedRun, type RunResult } from "./types.js";
export { convergenceEpoch, defaultEpochRule, movingAverage, readCurve, type Convergence, type CurvePoint, type EpochRule } from "./convergence.js";
export { SEPARABILITY_VIEWS, backgroundPixels, lesionPixels, measureSeparability, pairSeparability, separabilityAgainstTransfer, type PairMeasure, type SeparabilityResult, type SeparabilityView } from "./separability.js";
