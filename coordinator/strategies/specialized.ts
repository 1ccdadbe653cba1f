import type { StrategyDefinition } from "./registry.js";
import type { RoundContext, RoundPlan, SiteInfo, StepSpec } from "./strategy.js";
import { fedAvg, plainTask } from "./utils.js";

const options = {
  rounds: { kind: "int", default: 1, min: 1, max: 1000, doc: "rounds per step" },
  // Train each model longer (or shorter) than the run's epochs, e.g. to match another paradigm's budget.
  local_epochs: { kind: "int", default: 0, min: 0, max: 1000, doc: "local epochs per model (0: the run's epochs)" },
} as const;

/**
 * One model per domain: every step restarts from the run's base model at its own site. Evaluating
 * step k's model on every domain gives row k of the cross-domain matrix (paper Table 1).
 */
export const specialized: StrategyDefinition<typeof options> = {
  name: "specialized",
  summary: "one model per domain, each from the base model",
  options,
  traits: { continual: false, exportsExemplars: false, perDomainModels: true, stepCount: (sites) => sites },
  create({ rounds, local_epochs: localEpochs }) {
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
  },
};
