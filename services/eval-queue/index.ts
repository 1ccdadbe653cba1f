export {
  EVAL_JOBS_STREAM,
  EVAL_RESULTS_STREAM,
  EVAL_JOBS_SUBJECT,
  EVAL_RESULTS_SUBJECT,
  EVAL_WORKERS_CONSUMER,
  EVAL_RESULTS_CONSUMER,
  maxDeliveriesAdvisorySubject,
  evalJobSchema,
  evalResultSchema,
  parseEvalJob,
  parseEvalResult,
  connectEvalQueue,
  ensureEvalQueue,
  type EvalJob,
  type EvalResult,
  type EvalQueueSettings,
} from "./queue.js";
export { runEvalWorker, type EvalWorkerOptions } from "./worker.js";
