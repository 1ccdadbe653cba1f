export { openBlobStore, sha256Hex, assertDigest, type BlobStore } from "./blob-store.js";
export { writeFileAtomic, writeFileAtomicSync, removeStaleTempFiles, TEMP_PREFIX } from "./atomic.js";
export { BlobCorruptError, BlobNotFoundError, BlobSizeMismatchError, InvalidDigestError } from "./errors.js";
