import * as grpc from "@grpc/grpc-js";
import { ErrorCode, isMedfclError } from "../../services/errors/index.js";
import { RETRY_AFTER_TRAILER } from "../../services/transport/index.js";

const CODE_TO_STATUS: Record<ErrorCode, grpc.status> = {
  [ErrorCode.InvalidArgument]: grpc.status.INVALID_ARGUMENT,
  [ErrorCode.NotFound]: grpc.status.NOT_FOUND,
  [ErrorCode.AlreadyExists]: grpc.status.ALREADY_EXISTS,
  [ErrorCode.FailedPrecondition]: grpc.status.FAILED_PRECONDITION,
  [ErrorCode.PermissionDenied]: grpc.status.PERMISSION_DENIED,
  [ErrorCode.Unauthenticated]: grpc.status.UNAUTHENTICATED,
  [ErrorCode.ResourceExhausted]: grpc.status.RESOURCE_EXHAUSTED,
  [ErrorCode.DataLoss]: grpc.status.DATA_LOSS,
  [ErrorCode.Unavailable]: grpc.status.UNAVAILABLE,
  [ErrorCode.DeadlineExceeded]: grpc.status.DEADLINE_EXCEEDED,
  [ErrorCode.Aborted]: grpc.status.ABORTED,
  [ErrorCode.Internal]: grpc.status.INTERNAL,
};

/**
 * The one mapping from errors to gRPC status; anything that is not a MedfclError is INTERNAL. A
 * refusal that ends by itself (details.retryAfterMs) carries the RETRY_AFTER_TRAILER.
 */
export function toGrpcStatus(err: unknown): Partial<grpc.StatusObject> {
  if (isMedfclError(err)) {
    const retryAfter = err.details.retryAfterMs;
    if (typeof retryAfter !== "number") return { code: CODE_TO_STATUS[err.code], details: err.message };
    const metadata = new grpc.Metadata();
    metadata.set(RETRY_AFTER_TRAILER, String(retryAfter));
    return { code: CODE_TO_STATUS[err.code], details: err.message, metadata };
  }
  return { code: grpc.status.INTERNAL, details: `internal error: ${err instanceof Error ? err.message : String(err)}` };
}

/**
 * Ends a server stream with an error status. grpc-js turns an 'error' event into the status;
 * `destroy(err)` would skip the status frame and leave the client waiting forever.
 */
export function failStream(call: { emit(event: "error", err: Partial<grpc.StatusObject>): boolean }, err: unknown): void {
  call.emit("error", toGrpcStatus(err));
}
