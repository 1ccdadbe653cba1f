import { ErrorCode, MedfclError, type MedfclErrorOptions } from "../errors/index.js";

/** Bad evaluation input (gt, detections, accuracy matrix): the message names the file, record and field. */
export class EvalInputError extends MedfclError {
  constructor(message: string, options: MedfclErrorOptions = {}) {
    super(ErrorCode.InvalidArgument, message, options);
  }
}

/** A run directory that cannot be reported on (missing or unreadable files). */
export class ReportError extends MedfclError {
  constructor(code: ErrorCode, message: string, options: MedfclErrorOptions = {}) {
    super(code, message, options);
  }
}
