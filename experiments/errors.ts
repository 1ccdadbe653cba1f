import { ErrorCode, MedfclError, type MedfclErrorOptions } from "../services/errors/index.js";

/** An experiment that cannot run or whose runs left no usable result. */
export class ExperimentError extends MedfclError {
  constructor(message: string, options: MedfclErrorOptions & { code?: ErrorCode } = {}) {
    super(options.code ?? ErrorCode.FailedPrecondition, message, options);
  }
}
