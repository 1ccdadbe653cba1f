import { InvalidRunError } from "../errors.js";
import { defaultOptions, parseOptions, type OptionSchema, type ParsedOptions } from "./options.js";
import type { ResolvedOptions, Strategy, StrategyOptions } from "./strategy.js";

/** What callers outside the strategies branch on, so that none of them needs a strategy's name. */
export interface StrategyTraits {
  /** Each step continues from the previous step's model on a new domain: R's rows are steps, and BWT, forgetting and Fig. 5 apply. */
  continual: boolean;
  /** Sites export replay exemplars during a run; their privacy state (budget, near-duplicates) then spans runs. */
  exportsExemplars: boolean;
  /** Each step trains a fresh model from the base on one domain: R is a cross-domain matrix, row k the model of domain k. */
  perDomainModels: boolean;
  /** How many steps a run over `siteCount` sites plans (the length of `planSteps`), known before any site is. */
  stepCount(siteCount: number): number;
}

/** A paradigm as the registry holds it: its name, option schema, traits and the factory of its rounds. */
export interface StrategyDefinition<S extends OptionSchema = OptionSchema> {
  name: string;
  /** One line for help texts. */
  summary: string;
  options: S;
  traits: StrategyTraits;
  create(options: ParsedOptions<S>): Strategy;
}

/** What the registry tells callers about a strategy; `defaults` are its options as a run would carry them. */
export interface StrategyInfo {
  name: string;
  summary: string;
  options: OptionSchema;
  defaults: StrategyOptions;
  traits: StrategyTraits;
}

interface Entry {
  info: StrategyInfo;
  resolve(options: StrategyOptions | ResolvedOptions): ResolvedOptions;
  build(options: StrategyOptions | ResolvedOptions): Strategy;
}

const registry = new Map<string, Entry>();

const NAME_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;

/**
 * Adds a paradigm. The coordinator, `simulate` and the experiments find it by name from then on;
 * nothing else needs to change. Returns a function that removes it again (tests register
 * strategies of their own).
 */
export function registerStrategy<S extends OptionSchema>(definition: StrategyDefinition<S>): () => void {
  const { name } = definition;
  if (!NAME_PATTERN.test(name)) throw new InvalidRunError(`strategy name "${name}" must be 1–40 lowercase letters, digits or '-', starting with a letter`, "strategy");
  if (registry.has(name)) throw new InvalidRunError(`a strategy named "${name}" is already registered`, "strategy");
  const entry: Entry = {
    info: { name, summary: definition.summary, options: definition.options, defaults: defaultOptions(definition.options), traits: definition.traits },
    resolve: (options) => parseOptions(name, definition.options, options),
    build: (options) => definition.create(parseOptions(name, definition.options, options)),
  };
  registry.set(name, entry);
  return () => {
    if (registry.get(name) === entry) registry.delete(name);
  };
}

/** Registered strategy names, in registration order. */
export function strategyNames(): string[] {
  return [...registry.keys()];
}

function entryFor(name: string): Entry {
  const entry = registry.get(name);
  if (!entry) throw new InvalidRunError(`unknown strategy "${name}"; use one of ${strategyNames().join(", ")}`, "strategy");
  return entry;
}

/** A strategy's schema, defaults and traits; InvalidRunError naming `strategy` when none has that name. */
export function strategyInfo(name: string): StrategyInfo {
  return entryFor(name).info;
}

/** Like `strategyInfo`, or undefined: for views of stored runs whose strategy may no longer be registered. */
export function findStrategy(name: string): StrategyInfo | undefined {
  return registry.get(name)?.info;
}

/**
 * Every option of the strategy, typed, defaults filled in: what `createRun` stores, so that a run
 * resumed after an upgrade that changed a default keeps the values it started with. Unknown keys
 * and bad values are an InvalidRunError naming `options.<key>`.
 */
export function resolveStrategyOptions(name: string, options: StrategyOptions | ResolvedOptions = {}): ResolvedOptions {
  return entryFor(name).resolve(options);
}

/** Validates `options` (raw strings, or a run's stored resolved values) and builds the strategy's round planner. */
export function createStrategy(name: string, options: StrategyOptions | ResolvedOptions = {}): Strategy {
  return entryFor(name).build(options);
}
