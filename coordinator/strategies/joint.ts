import type { StrategyDefinition } from "./registry.js";
import type { Hyper, RoundContext, RoundPlan, SiteInfo, StepSpec } from "./strategy.js";
import { fedAvg, plainTask } from "./utils.js";

const options = {
  rounds: { kind: "int", default: 0, min: 0, max: 1000, doc: "communication rounds (0: one per local epoch)" },
  local_epochs: { kind: "int", default: 0, min: 0, max: 1000, doc: "local epochs per round (0: 1 without rounds, the run's epochs with it)" },
  shots: { kind: "int", default: 0, min: 0, doc: "few-shot limit on each site's training images (0: all)" },
  // "kcenter": each site picks a representative subset of its images (greedy k-center on embeddings).
  shots_selection: { kind: "choice", default: "random", values: ["random", "kcenter"], doc: "how a site picks its shots" },
} as const;

/**
 * All sites train together with FedAvg weighted by sample count: the federated form of the paper's
 * joint training. `shots` limits each site to N training images (joint-100). By default each local
 * epoch is one communication round, so sites re-synchronise often on non-IID domains; `rounds` and
 * `local_epochs` set the communication budget explicitly.
 */
export const joint: StrategyDefinition<typeof options> = {
  name: "joint",
  summary: "all sites train one model together (FedAvg), one step",
  options,
  traits: { continual: false, exportsExemplars: false, perDomainModels: false, stepCount: () => 1 },
  create({ rounds: roundsOption, local_epochs: localEpochs, shots, shots_selection: shotsSelection }) {
    return {
      name: "joint",
      planSteps(sites: SiteInfo[], hyper: Hyper): StepSpec[] {
        // Without an explicit rounds option, each local epoch is one round.
        const rounds = roundsOption || Math.max(1, hyper.epochs);
        return [{ index: 0, domain: "joint", sites: sites.map((s) => s.siteId), rounds, parent: "base" }];
      },
      configureRound(ctx: RoundContext): RoundPlan {
        // Local epochs per round: 1 without a rounds option; with one, the run's epochs unless given.
        const hyper = { ...ctx.hyper, epochs: localEpochs || (roundsOption ? ctx.hyper.epochs : 1) };
        return { tasks: ctx.step.sites.map((siteId) => plainTask(siteId, { ...hyper, seed: ctx.hyper.seed + ctx.round }, { shots, shotsSelection })) };
      },
      aggregate(_step, _round, updates) {
        return fedAvg(updates);
      },
    };
  },
};
