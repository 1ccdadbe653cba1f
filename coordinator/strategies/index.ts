import { joint } from "./joint.js";
import { registerStrategy } from "./registry.js";
import { rehearsal } from "./rehearsal.js";
import { sequential } from "./sequential.js";
import { specialized } from "./specialized.js";

export type { Strategy, StrategyOptions, ResolvedOptions, StepSpec, RoundContext, RoundPlan, TaskPlan, SiteInfo, SiteUpdate, SiteFailure, AggregateResult, Hyper } from "./strategy.js";
export type { OptionSchema, OptionSpec, ParsedOptions } from "./options.js";
export type { StrategyDefinition, StrategyInfo, StrategyTraits } from "./registry.js";
export { createStrategy, findStrategy, registerStrategy, resolveStrategyOptions, strategyInfo, strategyNames } from "./registry.js";
export { optionsToStrings } from "./options.js";
export { weightedMeanDeltas, fedAvg, plainTask } from "./utils.js";

// The built-in paradigms. This folder is the only place that knows strategy names: everything
// else asks the registry for a strategy's options, defaults and traits.
registerStrategy(specialized);
registerStrategy(joint);
registerStrategy(sequential);
registerStrategy(rehearsal);
