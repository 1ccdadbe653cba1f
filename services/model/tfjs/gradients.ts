/**
 * The gradients of tfjs's ops, registered on import. tfjs-core ships them only inside the
 * `@tensorflow/tfjs` bundle (its deep ESM entry does not resolve under Node), so the modules that
 * differentiate in tfjs (the reference trainer, and tests that check gradients) import this, and the
 * onnxruntime training worker, which never does, does not load the bundle.
 */
import "@tensorflow/tfjs";
