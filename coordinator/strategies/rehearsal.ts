import { EXEMPLAR_SAMPLERS, REPLAY_SAMPLERS, sampleReplay } from "../../services/replay/index.js";
import type { StrategyDefinition } from "./registry.js";
import type { RoundContext, RoundPlan, SiteInfo, StepSpec } from "./strategy.js";
import { fedAvg, plainTask } from "./utils.js";

const options = {
  buffer: { kind: "int", default: 100, min: 1, max: 100_000, doc: "replay buffer size (exemplars)" },
  sampler: { kind: "choice", default: "random", values: REPLAY_SAMPLERS, doc: "how the coordinator rebuilds the buffer from stored exemplars" },
  mix: { kind: "number", default: 0.3, min: 0, max: 0.95, doc: "share of replayed images in training" },
  rounds: { kind: "int", default: 1, min: 1, max: 1000, doc: "rounds per step" },
  // What the site uses to choose the exemplars it offers; informed samplers run at the site.
  site_sampler: { kind: "choice", default: "random", values: EXEMPLAR_SAMPLERS, doc: "how a site picks the exemplars it offers" },
} as const;

/**
 * Sequential fine-tuning plus a replay buffer (the paper's rehearsal). After each step but the
 * last, the step's site offers up to `buffer` privacy-filtered exemplars; before each later step the
 * buffer is rebuilt by the sampler from everything stored so far and mixed into training at `mix`.
 */
export const rehearsal: StrategyDefinition<typeof options> = {
  name: "rehearsal",
  summary: "sequential plus a replay buffer of privacy-filtered exemplars",
  options,
  traits: { continual: true, exportsExemplars: true, perDomainModels: false, stepCount: (sites) => sites },
  create({ buffer, sampler, mix, rounds, site_sampler: siteSampler }) {
    return {
      name: "rehearsal",
      planSteps(sites: SiteInfo[]): StepSpec[] {
        return sites.map((s, index) => ({ index, domain: s.domain, sites: [s.siteId], rounds, parent: "previous" }));
      },
      configureRound(ctx: RoundContext): RoundPlan {
        const chosen = sampleReplay(ctx.replayPool, buffer, sampler, ctx.seed * 1000 + ctx.step.index);
        const replayRatio = chosen.length > 0 && mix > 0 ? mix : undefined;
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
  },
};
