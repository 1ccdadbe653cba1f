import { createRequire } from "node:module";
import { dirname, join } from "node:path";
// tfjs-core and the two backends used here, not the `@tensorflow/tfjs` bundle: its layers,
// converter, data and WebGL packages are never used, and loading it cost every process and
// onnxruntime training worker about half a second (docs/benchmarks.md, "Start-up"). The
// bundle also registers the ops' gradients; what differentiates in tfjs calls ensureGradients().
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { BackendUnavailableError, ModelOptionError } from "../core/errors.js";

export type BackendName = "wasm" | "tensorflow" | "cpu";

const require = createRequire(import.meta.url);

/** Directory holding the tfjs wasm binaries, resolved from node_modules so that nothing is fetched. */
export function wasmDir(): string {
  const entry = require.resolve("@tensorflow/tfjs-backend-wasm");
  // entry is .../tfjs-backend-wasm/dist/tf-backend-wasm.node.js or similar; the binaries sit in dist/.
  return join(dirname(entry), "/");
}

export interface InitBackendOptions {
  /** wasm threads (only used when the threaded build loads; see docs/model.md). */
  threads?: number;
}

/**
 * Selects the tfjs backend at run time and returns its name. `tensorflow` needs
 * `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node`, imported dynamically because neither can
 * be installed on machines without access to the libtensorflow download host.
 */
export async function initBackend(name: BackendName, opts: InitBackendOptions = {}): Promise<string> {
  switch (name) {
    case "wasm": {
      if (tf.getBackend() === "wasm") return "wasm";
      setWasmPaths(wasmDir());
      if (opts.threads !== undefined) setThreadsCount(opts.threads);
      const ok = await tf.setBackend("wasm");
      if (!ok) throw new BackendUnavailableError("the tfjs wasm backend failed to start; check that @tensorflow/tfjs-backend-wasm is installed with its dist/*.wasm files");
      await tf.ready();
      return "wasm";
    }
    case "cpu": {
      await tf.setBackend("cpu");
      await tf.ready();
      return "cpu";
    }
    case "tensorflow": {
      if (tf.getBackend() === "tensorflow") return "tensorflow";
      const errors: string[] = [];
      for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
        try {
          await import(pkg);
          const ok = await tf.setBackend("tensorflow");
          if (ok) {
            await tf.ready();
            return "tensorflow";
          }
          errors.push(`${pkg}: loaded but the "tensorflow" backend did not register`);
        } catch (err) {
          errors.push(`${pkg}: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
        }
      }
      throw new BackendUnavailableError(
        `backend "tensorflow" needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node (npm install one of them on a host that can download libtensorflow), or use --backend wasm. Tried: ${errors.join("; ")}`,
        { details: { backend: name } },
      );
    }
    default: {
      const never: never = name;
      throw new ModelOptionError("backend", `unknown backend "${String(never)}"; use wasm, tensorflow or cpu`);
    }
  }
}

export { tf };
