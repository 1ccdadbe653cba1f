import { ErrorCode, MedfclError, type MedfclErrorOptions } from "../errors/index.js";
import { type ValidationProblem } from "./types.js";

export function formatProblem(p: ValidationProblem): string {
  const where = [p.file, p.record, p.field].filter((s) => s !== "").join(": ");
  return `${where}: ${p.message}`;
}

/** A dataset that does not satisfy the COCO + prompt schema; `problems` lists every defect found. */
export class DataValidationError extends MedfclError {
  readonly problems: ValidationProblem[];

  constructor(dir: string, problems: ValidationProblem[], options: MedfclErrorOptions = {}) {
    const shown = problems.slice(0, 20).map(formatProblem);
    const more = problems.length > shown.length ? `\n  ... and ${problems.length - shown.length} more` : "";
    super(
      ErrorCode.FailedPrecondition,
      `dataset ${dir} is invalid (${problems.length} problem${problems.length === 1 ? "" : "s"}); fix them or re-run the converter, then check with \`medfcl data validate ${dir}\`:\n  ${shown.join("\n  ")}${more}`,
      { ...options, details: { dir, problems: problems.length, ...options.details } },
    );
    this.problems = problems;
  }
}

/** An image file that cannot be read or decoded. */
export class ImageDecodeError extends MedfclError {
  constructor(path: string, reason: string, options: MedfclErrorOptions = {}) {
    super(ErrorCode.DataLoss, `${path}: cannot decode the image (${reason}); replace the file or remove its record`, {
      ...options,
      details: { path, ...options.details },
    });
  }
}

/** Bad arguments to a data function or command. */
export class DataArgumentError extends MedfclError {
  constructor(message: string, options: MedfclErrorOptions = {}) {
    super(ErrorCode.InvalidArgument, message, options);
  }
}

/** Input files for a converter or suite that are missing. */
export class DataNotFoundError extends MedfclError {
  constructor(path: string, what: string, options: MedfclErrorOptions = {}) {
    super(ErrorCode.NotFound, `${path}: ${what} not found`, { ...options, details: { path, ...options.details } });
  }
}

/** Why a BMP cannot be decoded; the image loader wraps it in an ImageDecodeError that names the file. */
export class BmpFormatError extends MedfclError {
  constructor(message: string) {
    super(ErrorCode.DataLoss, message);
  }
}
