import { InvalidRunError } from "../errors.js";
import { joint } from "./joint.js";
import { rehearsal } from "./rehearsal.js";
import { sequential } from "./sequential.js";
import { specialized } from "./specialized.js";
import type { Strategy, StrategyOptions } from "./strategy.js";

export type { Strategy, StrategyOptions, StepSpec, RoundContext, RoundPlan, TaskPlan, SiteInfo, SiteUpdate, SiteFailure, AggregateResult, Hyper } from "./strategy.js";
export { weightedMeanDeltas, fedAvg } from "./utils.js";

const factories: Record<string, (options: StrategyOptions) => Strategy> = {
  specialized,
  joint,
  sequential,
  rehearsal,
};

export const STRATEGY_NAMES = Object.keys(factories);

export function createStrategy(name: string, options: StrategyOptions = {}): Strategy {
  const factory = factories[name];
  if (!factory) throw new InvalidRunError(`unknown strategy "${name}"; use one of ${STRATEGY_NAMES.join(", ")}`, "strategy");
  return factory(options);
}
