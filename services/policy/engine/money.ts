/**
 * Money arithmetic in integer fen and basis points (1 bp = 0.01%).
 *
 * Rounding rule (written down once, applied in one place): an amount × ratio is computed exactly
 * as an integer numerator over 10,000 and rounded half up to the fen — once per cumulative due,
 * never per settlement, so that per-settlement payments (differences of cumulative dues) sum
 * exactly to the yearly due. The numerator is split into whole and remainder parts so that no
 * intermediate exceeds 2^53 for any realistic amount.
 */

export const BASIS_POINTS = 10_000;

/** `amountFen × ratioBp / 10,000`, rounded half up to the fen. */
export function applyRatio(amountFen: number, ratioBp: number): number {
  const whole = Math.floor(amountFen / BASIS_POINTS);
  const remainder = amountFen - whole * BASIS_POINTS;
  return whole * ratioBp + Math.floor((remainder * ratioBp + BASIS_POINTS / 2) / BASIS_POINTS);
}

/**
 * Σ over segments of `(portion in segment) × ratio`, rounded half up once at the end.
 * `lowers[k]..uppers[k]` bounds segment k on the cumulative amount.
 */
export function applySegments(
  amountFen: number,
  lowersFen: readonly number[],
  uppersFen: readonly number[],
  ratiosBp: readonly number[],
): number {
  let whole = 0;
  let remainderBp = 0;
  for (let k = 0; k < ratiosBp.length; k += 1) {
    const lower = lowersFen[k] ?? 0;
    if (amountFen <= lower) break;
    const upper = uppersFen[k] ?? Infinity;
    const portion = (amountFen < upper ? amountFen : upper) - lower;
    if (portion <= 0) continue;
    const ratio = ratiosBp[k] ?? 0;
    const portionWhole = Math.floor(portion / BASIS_POINTS);
    whole += portionWhole * ratio;
    remainderBp += (portion - portionWhole * BASIS_POINTS) * ratio;
  }
  return whole + Math.floor((remainderBp + BASIS_POINTS / 2) / BASIS_POINTS);
}
