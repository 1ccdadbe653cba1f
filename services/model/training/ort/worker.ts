/**
 * Worker-thread entry of the onnxruntime trainer: onnxruntime-node's `run` executes synchronously
 * on the calling thread, so the session lives here and the main thread's event loop (heartbeats,
 * gRPC, cancellation) stays free during a step.
 */
import { parentPort } from "node:worker_threads";
import { ErrorCode, MedfclError } from "../../../errors/index.js";
import type { FromWorker, ToWorker } from "./protocol.js";
import { OrtStepper } from "./stepper.js";

const port = parentPort;
if (!port) throw new MedfclError(ErrorCode.Internal, "services/model/training/ort/worker runs only as a worker thread");
let stepper: OrtStepper | null = null;
const send = (m: FromWorker) => port.postMessage(m);

/** One message at a time, in arrival order: the caller may queue the next step while one runs. */
async function handle(msg: ToWorker): Promise<void> {
  const id = msg.type === "init" ? -1 : msg.id;
  try {
    if (msg.type === "init") {
      stepper = new OrtStepper(msg.cfg, msg.weights, { ...msg.opts, epochs: 1 }, msg.session);
      send({ type: "ready" });
    } else if (!stepper) {
      throw new MedfclError(ErrorCode.FailedPrecondition, "the ort trainer was not initialised");
    } else if (msg.type === "step") {
      const started = performance.now();
      const result = await stepper.step(msg.batch, msg.totalSteps);
      send({ type: "step", id, result, busyMs: performance.now() - started });
    } else {
      send({ type: "weights", id, weights: stepper.getWeights() });
    }
  } catch (err) {
    const e = err as MedfclError;
    send({ type: "error", id, error: { name: e.name, message: e.message, code: e.code, details: e.details } });
  }
}

let queue: Promise<void> = Promise.resolve();
port.on("message", (msg: ToWorker) => {
  queue = queue.then(() => handle(msg));
});
