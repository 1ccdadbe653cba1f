/**
 * Replay: which exemplars go into the replay buffer (coordinator, `samplers.ts`) and which images a
 * site offers to it (site agent, `selectors.ts`). Pure and seeded; model signals come in as numbers.
 */
export { REPLAY_SAMPLERS, parseReplaySampler, sampleReplay, type ReplayItem, type ReplaySampler } from "./samplers.js";
export {
  EXEMPLAR_SAMPLERS,
  herdingOrder,
  kCenterOrder,
  lossAwareOrder,
  parseExemplarSampler,
  samplerNeedsModel,
  selectExemplars,
  type ExemplarSampler,
  type ModelSignals,
} from "./selectors.js";
