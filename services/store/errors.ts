import { ErrorCode, MedfclError, type MedfclErrorOptions } from "../errors/index.js";

export class BlobNotFoundError extends MedfclError {
  constructor(sha256: string, options: MedfclErrorOptions = {}) {
    super(ErrorCode.NotFound, `blob ${sha256} is not in the store`, { ...options, details: { sha256, ...options.details } });
  }
}

export class BlobCorruptError extends MedfclError {
  constructor(path: string, expected: string, actual: string) {
    super(
      ErrorCode.DataLoss,
      `blob ${path} is corrupt: its content hashes to ${actual}, not ${expected}. Delete the file and push or pull it again.`,
      { details: { path, expected, actual } },
    );
  }
}

export class InvalidDigestError extends MedfclError {
  constructor(value: string) {
    super(ErrorCode.InvalidArgument, `"${value}" is not a sha256 hex digest (64 lowercase hex characters)`, { details: { value } });
  }
}

export class BlobSizeMismatchError extends MedfclError {
  constructor(sha256: string, expected: number, actual: number) {
    super(ErrorCode.DataLoss, `upload for ${sha256} is ${actual} bytes, but ${expected} were announced; nothing was stored`, { details: { sha256, expected, actual, field: "size" } });
  }
}
