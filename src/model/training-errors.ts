/**
 * The per-variable errors of the training rows that calibrate a model (fit.ts): out of sample for the forecast
 * (leave-one-out, leverage.ts), first with η = 1 (to find η), then divided by it.
 */
import { ERROR_CAP, rowErrors, type DetectorWeights } from './detector.js'

/**
 * The training errors divided by η, as the scorer makes them, from the errors made with η = 1: the same division,
 * so the same numbers, without a third pass over the rows. A row where an error was capped at η = 1 is made again
 * (its error before the cap is not kept, and over η it may fall under the cap).
 */
export function withErrorScale(
  w: DetectorWeights,
  scaled: readonly Float64Array[],
  forecastInflation: Float64Array,
  unscaled: readonly Float64Array[],
): Float64Array[] {
  const scratch = new Float64Array(w.d + w.pcaRank)
  return unscaled.map((errors, t) => {
    const out = new Float64Array(w.d)
    if (t < w.lags) return out
    if (errors.some((e) => e >= ERROR_CAP)) {
      rowErrors(w, scaled, t, out, scratch, forecastInflation[t])
      return out
    }
    for (let j = 0; j < w.d; j++) out[j] = (errors[j] as number) / (w.errorScale[j] as number)
    return out
  })
}

/**
 * Per-variable errors of every training row (zeros for the first `lags` rows, which have no forecast), with the
 * forecast residuals out of sample (leave-one-out, leverage.ts).
 */
export function trainingErrors(
  w: DetectorWeights,
  scaled: readonly Float64Array[],
  forecastInflation: Float64Array,
): Float64Array[] {
  const scratch = new Float64Array(w.d + w.pcaRank)
  return scaled.map((_, t) => {
    const errors = new Float64Array(w.d)
    if (t >= w.lags) rowErrors(w, scaled, t, errors, scratch, forecastInflation[t])
    return errors
  })
}
