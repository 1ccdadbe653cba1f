import { type Command } from "commander";
import { registerConfig } from "./config.js";
import { registerStore } from "./store.js";

/**
 * Every command group registers itself here, one line each, so the root program stays small.
 * Order is the order `medfcl --help` lists them.
 */
const registrars: Array<(program: Command) => void> = [
  registerConfig,
  registerStore,
];

export function registerAll(program: Command): void {
  for (const register of registrars) register(program);
}
