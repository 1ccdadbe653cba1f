// In-process coordinator for protocol tests. The model math is real (safetensors checkpoints,
// deltas, FedAvg); central evaluation is replaced because these tests are about the protocol.
import { coordinatorSchema, type CoordinatorConfig } from "../../services/config/index.js";
import { silentLogger } from "../../services/log/index.js";
import { startCoordinator, type ModelOps, type RunningCoordinator, type StartOptions } from "../../coordinator/index.js";
import { detectorModelOps, type DetectorModelOpsOptions } from "../../coordinator/model-ops-detector.js";
import { encodeDelta, parseCheckpoint } from "../../services/model/index.js";
import { mapTensors, type TensorMap } from "../../services/tensors/index.js";
import { tempDir } from "./temp.js";

export function protocolModelOps(options: DetectorModelOpsOptions = {}): ModelOps {
  const real = detectorModelOps(options);
  return {
    ...real,
    async evaluate(_checkpoint, sets) {
      return sets.map((s) => ({ domain: s.domain, ap: 0, ap50: 0, stats: new Array(12).fill(0), perCategoryAp: {} }));
    },
  };
}

export async function startTestCoordinator(overrides: Partial<CoordinatorConfig> = {}, models: ModelOps = protocolModelOps(), options: StartOptions = {}): Promise<RunningCoordinator> {
  const config = coordinatorSchema.parse({
    listen: "127.0.0.1:0",
    httpListen: "127.0.0.1:0",
    stateDir: tempDir("medfcl-coord-"),
    insecure: true,
    heartbeatIntervalMs: 200,
    taskDeadlineMs: 60_000,
    ...overrides,
  });
  return startCoordinator(config, silentLogger(), models, options);
}

/** A small valid delta for the base checkpoint: every tensor shifted by `value`. */
export function constantDelta(baseCheckpoint: Buffer, value: number): TensorMap {
  const { tensors } = parseCheckpoint(baseCheckpoint);
  return mapTensors(tensors, (t) => new Float32Array(t.data.length).fill(value));
}

export function encodedDelta(delta: TensorMap): Buffer {
  return encodeDelta(delta, "fp32", {});
}

export function manifestOf(delta: TensorMap): { name: string; dtype: string; shape: number[] }[] {
  return [...delta].map(([name, t]) => ({ name, dtype: "F32", shape: t.shape }));
}

export const testManifest = (domain: string, images = 10) => ({
  domain,
  task: "polyp",
  num_images: images,
  num_annotations: images,
  categories: [{ id: 1, name: "polyp", prompt: { prefix: "", name: "polyp", suffix: "" } }],
  annotations_sha256: "0".repeat(64),
  num_shareable: images,
});
