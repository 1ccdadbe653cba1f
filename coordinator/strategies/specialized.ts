import type { RoundContext, RoundPlan, SiteInfo, StepSpec, Strategy, StrategyOptions } from "./strategy.js";
import { assertKnownOptions, fedAvg, intOption, plainTask } from "./utils.js";

/**
 * One model per domain: every step restarts from the run's base model at its own site. Evaluating
 * step k's model on every domain gives row k of the cross-domain matrix (paper Table 1).
 */
export function specialized(options: StrategyOptions = {}): Strategy {
  assertKnownOptions("specialized", options, ["rounds", "local_epochs"]);
  const rounds = intOption(options, "rounds", 1, 1, 1000);
  // Train each model longer (or shorter) than the run's epochs, e.g. to match another paradigm's budget.
  const localEpochs = intOption(options, "local_epochs", 0, 0, 1000);
  return {
    name: "specialized",
    planSteps(sites: SiteInfo[]): StepSpec[] {
      return sites.map((s, index) => ({ index, domain: s.domain, sites: [s.siteId], rounds, parent: "base" }));
    },
    configureRound(ctx: RoundContext): RoundPlan {
      const hyper = localEpochs ? { ...ctx.hyper, epochs: localEpochs } : ctx.hyper;
      return { tasks: ctx.step.sites.map((siteId) => plainTask(siteId, hyper)) };
    },
    aggregate(_step, _round, updates) {
      return fedAvg(updates);
    },
  };
}
