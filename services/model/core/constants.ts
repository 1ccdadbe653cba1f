// Numbers the tfjs forward passes and the ONNX export must share exactly (no tfjs here).

/** Pixel normalisation baked into the graph (and into the ONNX export). */
export const PIXEL_MEAN = 0.5;
export const PIXEL_STD = 0.25;
/** Additive attention mask for padded tokens; the ONNX graph uses the same constant. */
export const MASK_NEG = -1e4;
export const LN_EPS = 1e-5;
/** Box regression exponent is clipped to ±this before exp. */
export const REG_CLIP = 8;

/**
 * Training keeps a moving average of the weights unless told otherwise (decay 0.998, about the last
 * 500 steps): on real Kvasir-SEG it reaches in 8 epochs the held-out AP the last step's weights
 * reach in 25, and it smooths the epoch-to-epoch noise the epoch rule reads (docs/results.md, "The
 * epoch rule"). Learning rates, batch, freezing and epochs are the model family's (families/).
 */
export const DEFAULT_EMA_DECAY = 0.998;
