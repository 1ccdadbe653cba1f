export { openBlobStore, sha256Hex, assertDigest, type BlobStore } from "./blob-store.js";
export { writeFileAtomic, writeFileAtomicSync, removeStaleTempFiles, TEMP_PREFIX, WRITE_BATCH_BYTES } from "./atomic.js";
export { BlobCorruptError, BlobNotFoundError, BlobSizeMismatchError, InvalidDigestError } from "./errors.js";
