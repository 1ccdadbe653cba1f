import { ErrorCode, MedfclError, type MedfclErrorOptions } from "../services/errors/index.js";

export class TransferError extends MedfclError {
  constructor(message: string, options: MedfclErrorOptions = {}) {
    super(ErrorCode.DataLoss, message, options);
  }
}

export class CoordinatorUnavailableError extends MedfclError {
  constructor(address: string, cause: unknown) {
    super(ErrorCode.Unavailable, `cannot reach the coordinator at ${address}: ${(cause as Error)?.message ?? cause}. Check agent.coordinator, the network path and the certificates.`, {
      cause,
      details: { address },
    });
  }
}

export class TaskRefusedError extends MedfclError {
  constructor(message: string, options: MedfclErrorOptions = {}) {
    super(ErrorCode.FailedPrecondition, message, options);
  }
}
