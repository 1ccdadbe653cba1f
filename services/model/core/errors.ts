import { ErrorCode, MedfclError, type MedfclErrorOptions } from "../../errors/index.js";

/** A checkpoint, delta or ONNX file that cannot be parsed or does not hold what it claims. */
export class CheckpointError extends MedfclError {
  constructor(message: string, options: MedfclErrorOptions = {}) {
    super(ErrorCode.DataLoss, message, options);
  }
}

/** Weights whose names or shapes do not fit the architecture they are loaded into. */
export class ArchitectureMismatchError extends MedfclError {
  constructor(message: string, tensor: string, options: MedfclErrorOptions = {}) {
    super(ErrorCode.InvalidArgument, message, { ...options, details: { tensor, ...options.details } });
  }
}

/** A bad model/training option (unknown size, non-positive batch size...). */
export class ModelOptionError extends MedfclError {
  constructor(field: string, message: string) {
    super(ErrorCode.InvalidArgument, `${field}: ${message}`, { details: { field } });
  }
}

/** A backend that cannot be started here (e.g. tfjs-node not installed). */
export class BackendUnavailableError extends MedfclError {
  constructor(message: string, options: MedfclErrorOptions = {}) {
    super(ErrorCode.FailedPrecondition, message, options);
  }
}

/** A graph the gradient builder cannot differentiate (an op without a rule, or an unsupported form of one). */
export class UnsupportedOpError extends MedfclError {
  constructor(op: string, node: string, why = "has no gradient rule") {
    super(ErrorCode.FailedPrecondition, `ONNX op ${op} (node ${node}) ${why}`, { details: { op, node } });
  }
}

/** A malformed graph: an unknown value, a shape that does not fit, a missing constant. */
export class GraphError extends MedfclError {
  constructor(message: string, options: MedfclErrorOptions = {}) {
    super(ErrorCode.InvalidArgument, message, options);
  }
}

/** onnxruntime failed to create or run the training session. */
export class OrtTrainError extends MedfclError {
  constructor(message: string, options: MedfclErrorOptions = {}) {
    super(ErrorCode.Internal, message, options);
  }
}
