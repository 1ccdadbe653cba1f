/**
 * The coordinator's database, one module per aggregate: the only code with SQL. Everything it
 * returns is parsed and validated into the domain types of ../domain.ts; a row that does not parse is
 * an error naming the table, the row and the field, never a value cast into shape.
 */
export { nowIso, StoreCorruptError } from "./db.js";
export type { Db } from "./db.js";
export { SCHEMA_VERSION, SchemaTooNewError, migrate, openDb, openDbReadOnly, probeWrite, storedSchemaVersion } from "./schema.js";
export { getSite, listSites, siteSession, upsertSite } from "./sites.js";
export { LivenessWriter } from "./liveness.js";
export type { FlushTimer, LivenessWriterOptions } from "./liveness.js";
export { closeRound, getRun, getRunByName, insertRun, latestRuns, listRuns, listSteps, roundsOfStep, runCountsByState, updateRun, updateStep, upsertStep } from "./runs.js";
export type { NewRun } from "./runs.js";
export { extendOpenTaskDeadlines, getTask, insertTask, pendingTaskForSite, setTaskState, siteHasTaskFrom, tasksForRound, tasksOfRun } from "./tasks.js";
export { insertVersion, versionsForRun } from "./versions.js";
export { acceptedUpdateCount, acceptedUpdatesForTask, blobReferenced, getUpdate, insertUpdate, rejectedUpdatesForRun, updateCountsByAccepted, updatesForRun } from "./updates.js";
export { blobReferences, orphanVersions } from "./retention.js";
export type { BlobReferences } from "./retention.js";
export { exemplarCount, exemplarsForRun, getExemplar, insertExemplar } from "./exemplars.js";
export { evaluationsForRun, insertEventRow, insertMetric, insertNote, metricsForRun, notesOfSite, upsertEvaluation } from "./telemetry.js";
export { evalTaskResult, evalTasksForStep, evalTasksOfRun, finishEvalTask, getEvalTask, getSiteTestSet, insertEvalTask, pendingEvalTaskForSite, setSiteTestSet, siteHasEvalTaskFor } from "./site-evaluation.js";
export { getSecAggRound, insertSecAggRound, putSecAggKeys, putSecAggReveals, putSecAggShares, secAggKeys, secAggReveals, secAggShares, setSecAggStage } from "./secure-aggregation.js";
export { centralFailures, clearCentralFailure, getCentralEvaluation, recordCentralEvaluation } from "./central-evaluation.js";
