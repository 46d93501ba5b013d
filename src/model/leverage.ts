/**
 * Leave-one-out inflations of the training forecast residuals. The forecaster is fitted on the training rows, so
 * their residuals are smaller than a new row's from the same process, by a margin that grows with the fitted weights
 * per row (lags × variables + 1): calibrated on in-sample residuals, a model trained on few rows for its variables
 * flags many new normal rows. Dividing a row's residual by 1 − its leverage gives exactly what it would be had the
 * row been left out of the ridge fit (the PRESS residual). The correction fades as rows grow: the mean leverage is
 * (fitted weights) / rows, 0.3 % for a benchmark server (77 weights, 23,700 rows).
 *
 * The principal subspace has the same optimism (its discarded directions are the sample's smallest-variance ones),
 * but cross-fitting it was tried and not taken: docs/benchmarks.md.
 */
import type { Matrix } from 'ml-matrix'

/** Largest leverage used: a row that alone decides a weight is inflated tenfold, not without bound. */
const MAX_LEVERAGE = 0.9

const inflationOf = (leverage: number): number => 1 / (1 - Math.min(Math.max(leverage, 0), MAX_LEVERAGE))

/**
 * Per row, 1 / (1 − h_t) with h_t = x_tᵀ G⁻¹ x_t, G the ridge Gram matrix the forecaster was solved with and
 * x_t = [z_{t−1} … z_{t−lags}, 1]; 1 for the first `lags` rows, which have no forecast.
 */
export function forecastInflations(gram: Matrix, scaled: readonly Float64Array[], lags: number): Float64Array {
  const n = scaled.length
  const f = gram.rows
  const d = (f - 1) / lags
  const out = new Float64Array(n).fill(1)
  const l = choleskyLower(gram)
  // Only a ridge of 0 with a variable constant in training makes the Gram matrix singular: no correction then.
  if (l === undefined) return out
  const features = new Float64Array(f)
  const y = new Float64Array(f)
  for (let t = lags; t < n; t++) {
    for (let k = 1; k <= lags; k++) features.set(scaled[t - k] as Float64Array, (k - 1) * d)
    features[f - 1] = 1
    // h = |L⁻¹x|² (forward substitution).
    let h = 0
    for (let a = 0; a < f; a++) {
      let sum = features[a] as number
      const offset = a * f
      for (let b = 0; b < a; b++) sum -= (l[offset + b] as number) * (y[b] as number)
      const v = sum / (l[offset + a] as number)
      y[a] = v
      h += v * v
    }
    out[t] = Number.isFinite(h) ? inflationOf(h) : 1
  }
  return out
}

/**
 * The lower Cholesky factor L of the symmetric `gram` (G = LLᵀ), row-major in one array (f² numbers: for MVAD's
 * widest model, 301 variables with 10 lags, 73 MB — a Matrix of arrays beside a copy took three times that);
 * undefined when G is not positive definite.
 */
function choleskyLower(gram: Matrix): Float64Array | undefined {
  const f = gram.rows
  const l = new Float64Array(f * f)
  for (let a = 0; a < f; a++) {
    const rowA = a * f
    for (let b = 0; b <= a; b++) {
      const rowB = b * f
      let sum = gram.get(a, b)
      for (let k = 0; k < b; k++) sum -= (l[rowA + k] as number) * (l[rowB + k] as number)
      if (a === b) {
        if (!(sum > 0)) return undefined
        l[rowA + a] = Math.sqrt(sum)
      } else {
        l[rowA + b] = sum / (l[rowB + b] as number)
      }
    }
  }
  return l
}
