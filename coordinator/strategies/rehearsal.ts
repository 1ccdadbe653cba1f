import { parseReplaySampler, sampleReplay } from "../../services/replay/index.js";
import { InvalidRunError } from "../errors.js";
import type { RoundContext, RoundPlan, SiteInfo, StepSpec, Strategy, StrategyOptions } from "./strategy.js";
import { assertKnownOptions, fedAvg, floatOption, intOption, plainTask } from "./utils.js";

/**
 * Sequential fine-tuning plus a replay buffer (the paper's rehearsal). After each step but the
 * last, the step's site offers up to `buffer` privacy-filtered exemplars; before each later step the
 * buffer is rebuilt by the sampler from everything stored so far and mixed into training at `mix`.
 */
export function rehearsal(options: StrategyOptions = {}): Strategy {
  assertKnownOptions("rehearsal", options, ["buffer", "sampler", "mix", "rounds", "site_sampler"]);
  const buffer = intOption(options, "buffer", 100, 1, 100_000);
  const sampler = parseReplaySampler(options.sampler ?? "random", "options.sampler");
  const mix = floatOption(options, "mix", 0.3, 0, 0.95);
  const rounds = intOption(options, "rounds", 1, 1, 1000);
  // What the site uses to choose the exemplars it offers; informed samplers run at the site.
  const siteSampler = options.site_sampler ?? "random";
  if (!["random", "class-balanced", "herding", "loss-aware"].includes(siteSampler)) {
    throw new InvalidRunError(`strategy option "site_sampler" must be random, class-balanced, herding or loss-aware, got "${siteSampler}"`, "options.site_sampler");
  }
  return {
    name: "rehearsal",
    planSteps(sites: SiteInfo[]): StepSpec[] {
      return sites.map((s, index) => ({ index, domain: s.domain, sites: [s.siteId], rounds, parent: "previous" }));
    },
    configureRound(ctx: RoundContext): RoundPlan {
      const chosen = sampleReplay(ctx.replayPool, buffer, sampler, ctx.seed * 1000 + ctx.step.index);
      const replayRatio = chosen.length > 0 ? mix : 0;
      const lastRound = ctx.round === ctx.step.rounds - 1;
      return {
        tasks: ctx.step.sites.map((siteId) =>
          plainTask(siteId, { ...ctx.hyper, replayRatio }, {
            exemplarIds: chosen.map((e) => e.id),
            exemplarsWanted: ctx.isLastStep || !lastRound ? 0 : buffer,
            exemplarSampler: siteSampler,
          }),
        ),
      };
    },
    aggregate(_step, _round, updates) {
      return fedAvg(updates);
    },
  };
}
