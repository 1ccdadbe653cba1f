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

/**
 * The storage faults a durable write can meet, by errno, with what each means to an operator. A
 * closed set: anything else a write throws is a bug or a permission problem and passes unchanged.
 */
export const STORAGE_FAULTS = {
  ENOSPC: "the filesystem is full",
  EDQUOT: "the disk quota is used up",
  EIO: "the device reported an I/O error",
  EROFS: "the filesystem is read-only",
} as const;
export type StorageErrno = keyof typeof STORAGE_FAULTS;

/**
 * A durable write that could not complete: nothing was left at its path (the temp file is removed,
 * the old file, if any, is kept). `full` says whether freeing space can help (ENOSPC, EDQUOT); an
 * I/O error or a read-only filesystem needs the operator to fix the device or the mount.
 */
export class StorageWriteError extends MedfclError {
  readonly errno: StorageErrno;
  readonly path: string;

  constructor(path: string, errno: StorageErrno, options: MedfclErrorOptions = {}) {
    const full = errno === "ENOSPC" || errno === "EDQUOT";
    super(
      full ? ErrorCode.ResourceExhausted : ErrorCode.Unavailable,
      `cannot write ${path}: ${STORAGE_FAULTS[errno]} (${errno}); ${full ? "free space on that filesystem" : "check the device and the mount"} and try again. Nothing partial was left at that path`,
      { ...options, details: { path, errno, ...options.details } },
    );
    this.errno = errno;
    this.path = path;
  }

  get full(): boolean {
    return this.errno === "ENOSPC" || this.errno === "EDQUOT";
  }
}

// SQLite's result codes for the same faults (better-sqlite3 puts the extended code in `code`).
const SQLITE_FAULTS: [RegExp, StorageErrno][] = [
  [/^SQLITE_FULL$/, "ENOSPC"],
  [/^SQLITE_IOERR/, "EIO"],
  [/^SQLITE_READONLY/, "EROFS"],
];

/**
 * The storage fault behind an error thrown by a write (Node's fs, SQLite), as a StorageWriteError
 * naming `path`; null when the error is something else. A StorageWriteError is returned as it is.
 */
export function storageFault(err: unknown, path: string): StorageWriteError | null {
  if (err instanceof StorageWriteError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return null;
  if (code in STORAGE_FAULTS) return new StorageWriteError(path, code as StorageErrno, { cause: err });
  const sqlite = SQLITE_FAULTS.find(([re]) => re.test(code));
  return sqlite ? new StorageWriteError(path, sqlite[1], { cause: err }) : null;
}
