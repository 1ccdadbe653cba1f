import { type Command } from "commander";
import { registerConfig } from "./config.js";
import { registerData } from "./data.js";
import { registerStore } from "./store.js";
import { registerPrivacy } from "./privacy.js";
import { registerEval } from "./eval.js";
import { registerAudit } from "./audit.js";
import { registerPki } from "./pki.js";
import { registerModel } from "./model.js";
import { registerFederation } from "./federation.js";
import { registerSimulate } from "./simulate.js";
import { registerExperiment } from "./experiment.js";

/**
 * Every command group registers itself here, one line each, so the root program stays small.
 * Order is the order `medfcl --help` lists them.
 */
const registrars: Array<(program: Command) => void> = [
  registerConfig,
  registerStore,
  registerPrivacy,
  registerData,
  registerEval,
  registerAudit,
  registerPki,
  registerModel,
  registerFederation,
  registerSimulate,
  registerExperiment,
];

export function registerAll(program: Command): void {
  for (const register of registrars) register(program);
}
