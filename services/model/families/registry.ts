import { ModelOptionError } from "../core/errors.js";
import type { ModelConfig } from "../core/types.js";
import type { ModelFamily } from "./family.js";

const registry = new Map<string, ModelFamily>();

const NAME_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;

/**
 * Adds a model family. Runs, commands and checkpoints find it by name from then on; nothing else
 * needs to change. Returns a function that removes it again (tests register families of their own).
 */
export function registerModelFamily(family: ModelFamily): () => void {
  if (!NAME_PATTERN.test(family.name)) throw new ModelOptionError("model", `model family name "${family.name}" must be 1–40 lowercase letters, digits or '-', starting with a letter`);
  if (registry.has(family.name)) throw new ModelOptionError("model", `a model family named "${family.name}" is already registered`);
  registry.set(family.name, family);
  return () => {
    if (registry.get(family.name) === family) registry.delete(family.name);
  };
}

/** Registered family names, in registration order. */
export function modelFamilyNames(): string[] {
  return [...registry.keys()];
}

/** The family of that name; ModelOptionError naming `model` and the known names when none has it. */
export function modelFamily(name: string): ModelFamily {
  const family = registry.get(name);
  if (!family) throw new ModelOptionError("model", `"${name}" is not a model; use one of ${modelFamilyNames().join(", ")}`);
  return family;
}

/** Like `modelFamily`, or undefined. */
export function findModelFamily(name: string): ModelFamily | undefined {
  return registry.get(name);
}

/** The family a config belongs to (`ModelConfig.size` is the family name). */
export function familyOf(cfg: Pick<ModelConfig, "size">): ModelFamily {
  return modelFamily(cfg.size);
}
