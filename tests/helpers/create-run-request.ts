import type { CreateRunRequest__Output } from "../../generated/medfcl/v1/CreateRunRequest.js";

/** A CreateRun request as the coordinator decodes it, every field at its unset value unless given. */
export function createRunRequest(over: Partial<CreateRunRequest__Output> = {}): CreateRunRequest__Output {
  return {
    name: "r1",
    strategy: "sequential",
    sites: ["a", "b"],
    hyperparameters: null,
    options: {},
    model: "",
    base_version: "",
    seed: 0,
    legacy_dropout_policy: "",
    delta_encoding: "DELTA_ENCODING_UNSPECIFIED",
    dropout_policy: "DROPOUT_POLICY_UNSPECIFIED",
    evaluation: "EVALUATION_PLACEMENT_UNSPECIFIED",
    secure_aggregation: false,
    secure_aggregation_threshold: 0,
    ...over,
  };
}
