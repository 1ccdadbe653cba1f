export { openBlobStore, sha256Hex, assertDigest, type BlobStore } from "./blob-store.js";
export { writeFileAtomic, writeFileAtomicSync, writeAllSync, removeStaleTempFiles, sha256OfFile, TEMP_PREFIX, WRITE_BATCH_BYTES, type AtomicWriteOptions } from "./atomic.js";
export { BlobCorruptError, BlobNotFoundError, BlobSizeMismatchError, InvalidDigestError, STORAGE_FAULTS, storageFault, StorageWriteError, type StorageErrno } from "./errors.js";
