import { ErrorCode, MedfclError, type MedfclErrorOptions } from "../errors/index.js";

/** Bad input to a privacy function: a missing secret, an out-of-range option, an unreadable file. */
export class PrivacyArgumentError extends MedfclError {
  constructor(message: string, options: MedfclErrorOptions = {}) {
    super(ErrorCode.InvalidArgument, message, options);
  }
}

/** A DICOM file that cannot be parsed, de-identified or rendered. */
export class DicomError extends MedfclError {
  constructor(path: string, message: string, options: MedfclErrorOptions = {}) {
    super(ErrorCode.InvalidArgument, `${path}: ${message}`, { ...options, details: { path, ...options.details } });
  }
}

/** The privacy state or audit log on disk is damaged; the site must look before exporting more. */
export class PrivacyStateError extends MedfclError {
  constructor(path: string, message: string, options: MedfclErrorOptions = {}) {
    super(ErrorCode.DataLoss, `${path}: ${message}`, { ...options, details: { path, ...options.details } });
  }
}

/** A DP task that would take the site past its ε budget. The agent refuses it; the coordinator records why. */
export class EpsilonBudgetExceededError extends MedfclError {
  readonly spent: number;
  readonly requested: number;
  readonly budget: number;
  constructor(site: string, spent: number, requested: number, budget: number, taskId?: string) {
    super(
      ErrorCode.ResourceExhausted,
      `site ${site} refuses ${taskId ? `task ${taskId}` : "the task"}: it would spend ε=${requested.toFixed(4)} on top of ε=${spent.toFixed(4)} already spent, ` +
        `past the budget ε=${budget} (agent.privacy.dp.epsilonBudget). Raise the noise multiplier, train fewer steps, or raise the budget.`,
      { details: { site, taskId, spent, requested, budget } },
    );
    this.spent = spent;
    this.requested = requested;
    this.budget = budget;
  }
}
