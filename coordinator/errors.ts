import { ErrorCode, MedfclError, type MedfclErrorOptions } from "../services/errors/index.js";

export class RunNotFoundError extends MedfclError {
  constructor(runId: string) {
    super(ErrorCode.NotFound, `run ${runId} does not exist; list runs with \`medfcl runs list\``, { details: { runId } });
  }
}

export class TaskNotFoundError extends MedfclError {
  constructor(taskId: string) {
    super(ErrorCode.NotFound, `task ${taskId} does not exist`, { details: { taskId } });
  }
}

/** An update or exemplar that failed validation; recorded, answered with INVALID_ARGUMENT, never fatal. */
export class UpdateRejectedError extends MedfclError {
  constructor(message: string, options: MedfclErrorOptions = {}) {
    super(ErrorCode.InvalidArgument, message, options);
  }
}

export class StaleTaskError extends MedfclError {
  constructor(taskId: string, state: string) {
    super(ErrorCode.FailedPrecondition, `task ${taskId} is ${state}; it no longer accepts uploads`, { details: { taskId, state } });
  }
}

export class InvalidRunError extends MedfclError {
  constructor(message: string, field: string) {
    super(ErrorCode.InvalidArgument, message, { details: { field } });
  }
}
