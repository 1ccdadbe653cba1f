// Numeric parity: |actual − expected| ≤ atol + rtol·|expected| for every element (numpy's allclose).
//
// Dividing the error by max(1, |expected|), as the parity tests used to, makes a tolerance of 1e-4
// absolute for every value below 1: a gradient of all zeros passed wherever the reference
// gradient stayed under 1e-4. With an explicit atol, zeroing or flipping the sign of `actual`
// fails as soon as one |expected| exceeds atol/(1 − rtol) (zeroed) or atol/(2 − rtol) (flipped).
import { strict as assert } from "node:assert";

export interface Tolerance {
  /** Absolute floor: differences this small pass wherever the reference is near zero. */
  atol: number;
  /** Relative part, a fraction of |expected|. */
  rtol: number;
}

export interface Closeness {
  /** max over elements of |a − e| / (atol + rtol·|e|); ≤ 1 passes. */
  ratio: number;
  /** The element with that ratio. */
  index: number;
  actual: number;
  expected: number;
}

export function closeness(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance): Closeness {
  assert.equal(actual.length, expected.length, "lengths differ");
  let worst: Closeness = { ratio: 0, index: -1, actual: NaN, expected: NaN };
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    // NaN compares false everywhere, so it is caught explicitly.
    const ratio = Number.isNaN(diff) ? Infinity : diff / (tol.atol + tol.rtol * Math.abs(expected[i]));
    if (ratio > worst.ratio) worst = { ratio, index: i, actual: actual[i], expected: expected[i] };
  }
  return worst;
}

/** Fails naming the worst element when any element is outside atol + rtol·|expected|. */
export function assertClose(actual: ArrayLike<number> | number, expected: ArrayLike<number> | number, tol: Tolerance, label: string): void {
  const a = typeof actual === "number" ? [actual] : actual;
  const e = typeof expected === "number" ? [expected] : expected;
  const c = closeness(a, e, tol);
  assert.ok(
    c.ratio <= 1,
    `${label}: element ${c.index} is ${c.actual}, expected ${c.expected} (|Δ| ${Math.abs(c.actual - c.expected).toExponential(2)} > atol ${tol.atol} + rtol ${tol.rtol}·|expected|; ${c.ratio.toFixed(2)}× the tolerance)`,
  );
}
