import type { StrategyDefinition } from "./registry.js";
import type { RoundContext, RoundPlan, SiteInfo, StepSpec } from "./strategy.js";
import { fedAvg, plainTask } from "./utils.js";

const options = {
  rounds: { kind: "int", default: 1, min: 1, max: 1000, doc: "rounds per step" },
} as const;

/** Domain-incremental fine-tuning: step k continues from step k−1's model at site k. Forgets. */
export const sequential: StrategyDefinition<typeof options> = {
  name: "sequential",
  summary: "domain-incremental fine-tuning: step k continues from step k-1 at site k",
  options,
  traits: { continual: true, exportsExemplars: false, perDomainModels: false, stepCount: (sites) => sites },
  create({ rounds }) {
    return {
      name: "sequential",
      planSteps(sites: SiteInfo[]): StepSpec[] {
        return sites.map((s, index) => ({ index, domain: s.domain, sites: [s.siteId], rounds, parent: "previous" }));
      },
      configureRound(ctx: RoundContext): RoundPlan {
        return { tasks: ctx.step.sites.map((siteId) => plainTask(siteId, ctx.hyper)) };
      },
      aggregate(_step, _round, updates) {
        return fedAvg(updates);
      },
    };
  },
};
