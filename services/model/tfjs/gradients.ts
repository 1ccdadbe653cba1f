import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
let registered = false;

/**
 * Registers the gradients of tfjs's ops, once per process. tfjs-core ships them only inside the
 * `@tensorflow/tfjs` bundle (its deep ESM entry does not resolve under Node), and loading the bundle
 * costs about half a second, so only what differentiates in tfjs (the reference trainer) pays it:
 * the CLI, the coordinator, the agents and the onnxruntime training worker never load it. The bundle
 * is CommonJS, so this loads it synchronously, and it registers into the same tfjs-core instance.
 */
export function ensureGradients(): void {
  if (registered) return;
  require("@tensorflow/tfjs");
  registered = true;
}
