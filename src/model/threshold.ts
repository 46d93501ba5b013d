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
    if (threshold > 0) {
      const excesses = sorted.length - upperBound(sorted, threshold)
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
  return potThreshold(sorted, riskLevel)
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
