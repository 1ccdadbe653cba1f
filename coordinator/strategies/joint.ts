import { InvalidRunError } from "../errors.js";
import type { Hyper, RoundContext, RoundPlan, SiteInfo, StepSpec, Strategy, StrategyOptions } from "./strategy.js";
import { assertKnownOptions, fedAvg, intOption, plainTask } from "./utils.js";

/**
 * All sites train together with FedAvg weighted by sample count: the federated form of the paper's
 * joint training. `shots` limits each site to N training images (joint-100). By default each local
 * epoch is one communication round, so sites re-synchronise often on non-IID domains; `rounds` and
 * `local_epochs` set the communication budget explicitly.
 */
export function joint(options: StrategyOptions = {}): Strategy {
  assertKnownOptions("joint", options, ["rounds", "local_epochs", "shots", "shots_selection"]);
  const shots = intOption(options, "shots", 0, 0);
  // "kcenter": each site picks a representative subset of its images (greedy k-center on embeddings).
  const shotsSelection = options.shots_selection || "random";
  if (!["random", "kcenter"].includes(shotsSelection)) {
    throw new InvalidRunError(`strategy option "shots_selection" must be random or kcenter, got "${shotsSelection}"`, "options.shots_selection");
  }
  const roundsOption = intOption(options, "rounds", 0, 0, 1000);
  // Local epochs per round: 1 without a rounds option; with one, the run's epochs unless given.
  const localEpochs = intOption(options, "local_epochs", 0, 0, 1000);
  return {
    name: "joint",
    planSteps(sites: SiteInfo[], hyper: Hyper): StepSpec[] {
      // Without an explicit rounds option, each local epoch is one round.
      const rounds = roundsOption || Math.max(1, hyper.epochs);
      return [{ index: 0, domain: "joint", sites: sites.map((s) => s.siteId), rounds, parent: "base" }];
    },
    configureRound(ctx: RoundContext): RoundPlan {
      const hyper = { ...ctx.hyper, epochs: localEpochs || (roundsOption ? ctx.hyper.epochs : 1) };
      return { tasks: ctx.step.sites.map((siteId) => plainTask(siteId, { ...hyper, seed: ctx.hyper.seed + ctx.round }, { shots, shotsSelection })) };
    },
    aggregate(_step, _round, updates) {
      return fedAvg(updates);
    },
  };
}

