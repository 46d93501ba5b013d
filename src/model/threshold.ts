/**
 * Label-free threshold from training scores at tail probability `riskLevel` (`calibrateThreshold`): the empirical
 * (1 − riskLevel) quantile when at least MIN_EXCEEDANCES training scores lie above it, else an extrapolation by
 * Peaks Over Threshold. The quantile comes first because training scores are often a mixture — a bulk plus rare
 * transients (a command flag flipping, a restart) two orders of magnitude higher — and a tail model fitted across
 * both puts the threshold among the transients, far above real anomalies (measured on the bench: training q99 ≈ 1,
 * q99.9 ≈ 30–200, POT at 10⁻³ ≈ 20–170). POT is kept for what it is good at: risk levels too small for the data.
 *
 * Peaks Over Threshold (Siffer et al., KDD 2017). Scores above an initial high quantile are
 * fitted with a generalised Pareto distribution (method of moments — closed form, deterministic), and the
 * threshold is the score exceeded with probability `riskLevel` under that tail. Falls back to the empirical
 * quantile when the tail is too small or degenerate.
 */

/**
 * Relative margin over θ that a score must pass to be anomalous: many times a double's rounding, far below any real
 * excess. Periodic data continued past training reproduces θ's own training row (a tied top score) to the last
 * bits, which flagged it once a period with a severity of 1e-13.
 */
export const THRESHOLD_ROUNDING = 1e-9

export interface ThresholdFit {
  threshold: number
  method: 'pot' | 'quantile'
  initialThreshold: number
  excesses: number
  shape: number
  scale: number
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  const position = (sorted.length - 1) * q
  const lo = Math.floor(position)
  const hi = Math.ceil(position)
  const a = sorted[lo] as number
  const b = sorted[hi] as number
  return a + (b - a) * (position - lo)
}

export function potThreshold(scores: readonly number[], riskLevel: number, initialQuantile = 0.98): ThresholdFit {
  const sorted = scores.filter(Number.isFinite).sort((a, b) => a - b)
  const n = sorted.length
  const t = quantile(sorted, initialQuantile)
  const excesses = sorted.filter((s) => s > t).map((s) => s - t)
  const fallback = (): ThresholdFit => ({
    threshold: quantile(sorted, Math.max(0, 1 - riskLevel)),
    method: 'quantile',
    initialThreshold: t,
    excesses: excesses.length,
    shape: Number.NaN,
    scale: Number.NaN,
  })
  if (excesses.length < 10) return fallback()
  const mean = excesses.reduce((s, e) => s + e, 0) / excesses.length
  const variance = excesses.reduce((s, e) => s + (e - mean) ** 2, 0) / (excesses.length - 1)
  if (!(variance > 0) || !(mean > 0)) return fallback()
  // Method of moments for the GPD: shape γ = ½(1 − mean²/var), scale σ = ½·mean·(1 + mean²/var).
  const ratio = (mean * mean) / variance
  const shape = 0.5 * (1 - ratio)
  const scale = 0.5 * mean * (1 + ratio)
  const r = (riskLevel * n) / excesses.length
  const threshold = Math.abs(shape) < 1e-9 ? t - scale * Math.log(r) : t + (scale / shape) * (r ** -shape - 1)
  if (!Number.isFinite(threshold) || threshold <= t) return fallback()
  return { threshold, method: 'pot', initialThreshold: t, excesses: excesses.length, shape, scale }
}

/** Training scores that must lie above an empirical quantile for it to be used rather than extrapolated. */
export const MIN_EXCEEDANCES = 10

export function calibrateThreshold(scores: readonly number[], riskLevel: number): ThresholdFit {
  const sorted = scores.filter(Number.isFinite).sort((a, b) => a - b)
  if (riskLevel * sorted.length >= MIN_EXCEEDANCES) {
    const threshold = quantile(sorted, 1 - riskLevel)
    const excesses = sorted.length - upperBound(sorted, threshold)
    // Ties at the top (many equal scores) can leave fewer scores above the quantile than it promises.
    if (threshold > 0 && excesses >= MIN_EXCEEDANCES) {
      return {
        threshold,
        method: 'quantile',
        initialThreshold: threshold,
        excesses,
        shape: Number.NaN,
        scale: Number.NaN,
      }
    }
  }
  return positive(potThreshold(sorted, riskLevel), sorted)
}

/** Smallest threshold a model keeps: a score of exactly 0 is never an anomaly. */
export const MIN_THRESHOLD = 1e-9

/**
 * A threshold of 0 (training scores almost all 0: constant variables, flags that flip once) would flag any row with a
 * positive score and give score 2 (and a model no loader accepts): the smallest positive training score is used
 * instead — a state seen in training is not anomalous — or MIN_THRESHOLD when there is none.
 */
function positive(fit: ThresholdFit, sorted: readonly number[]): ThresholdFit {
  if (fit.threshold > 0) return fit
  const smallest = sorted.find((s) => s > 0)
  return { ...fit, threshold: Math.max(MIN_THRESHOLD, smallest ?? 0), method: 'quantile' }
}

/** Index of the first element of `sorted` greater than `value`. */
function upperBound(sorted: readonly number[], value: number): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if ((sorted[mid] as number) <= value) lo = mid + 1
    else hi = mid
  }
  return lo
}
