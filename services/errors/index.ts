/**
 * The one error base of medfcl. Every service defines its own subclasses in its `errors.ts`;
 * the gRPC layer maps `code` to a status code and the CLI maps it to an exit code, so a code is
 * the contract and the message is for people.
 */
export const ErrorCode = {
  InvalidArgument: "INVALID_ARGUMENT",
  NotFound: "NOT_FOUND",
  AlreadyExists: "ALREADY_EXISTS",
  FailedPrecondition: "FAILED_PRECONDITION",
  PermissionDenied: "PERMISSION_DENIED",
  Unauthenticated: "UNAUTHENTICATED",
  ResourceExhausted: "RESOURCE_EXHAUSTED",
  DataLoss: "DATA_LOSS",
  Unavailable: "UNAVAILABLE",
  DeadlineExceeded: "DEADLINE_EXCEEDED",
  Aborted: "ABORTED",
  Internal: "INTERNAL",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface MedfclErrorOptions extends ErrorOptions {
  /** Where the problem is: a file, record id, field or tensor name. Shown to the user. */
  details?: Record<string, unknown>;
}

export class MedfclError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: MedfclErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
  }
}

export function isMedfclError(err: unknown): err is MedfclError {
  return err instanceof MedfclError;
}

/** A message for any thrown value, without losing the cause chain's first line. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
