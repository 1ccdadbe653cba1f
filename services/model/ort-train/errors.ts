import { ErrorCode, MedfclError, type MedfclErrorOptions } from "../../errors/index.js";

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
