import type { RoundContext, RoundPlan, SiteInfo, StepSpec, Strategy, StrategyOptions } from "./strategy.js";
import { assertKnownOptions, fedAvg, intOption, plainTask } from "./utils.js";

/** Domain-incremental fine-tuning: step k continues from step k−1's model at site k. Forgets. */
export function sequential(options: StrategyOptions = {}): Strategy {
  assertKnownOptions("sequential", options, ["rounds"]);
  const rounds = intOption(options, "rounds", 1, 1, 1000);
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
}
