/**
 * Scoring: detect-last (`scoreLast`, one window) and detect-batch (`scoreSeries`, every row with a full window).
 * Both run the same per-row functions (detector.ts) in the same order, so their results are identical.
 *
 * Output (MVAD AnomalyValue): with s the raw score and θ the calibrated threshold,
 *   score     = 2·s / (s + θ)      in [0, 2), equal to 1 at the threshold (MVAD's score range)
 *   isAnomaly = s > θ
 *   severity  = 1 − θ/s when anomalous (in (0, 1), increasing with s), else 0
 *   interpretation (anomalous rows only): top contributors by smoothed per-variable error, contributionScore
 *   summing to 1 over those returned; correlationChanges lists the variables whose correlation with the
 *   contributor inside the window moved furthest from training (|Δρ| ≥ correlationChange, at most 5).
 */
import type { AnomalyValue, Contributor } from '../domain/types.js'
import { rowErrors, scaleRow, topMean, type DetectorWeights } from './detector.js'
import type { ModelState } from './state.js'

const MAX_CHANGED_VARIABLES = 5

export interface Scorer {
  readonly variables: readonly string[]
  readonly slidingWindow: number
  /** detect-last: `window` = exactly slidingWindow rows, oldest first; the last row is scored. Not mutated. */
  scoreLast(window: readonly Float64Array[], topContributorCount?: number): AnomalyValue
  /** detect-batch: one entry per row; null for rows with fewer than slidingWindow − 1 rows before them. */
  scoreSeries(rows: readonly Float64Array[], topContributorCount?: number): (AnomalyValue | null)[]
}

export function createScorer(state: ModelState): Scorer {
  const { params, payload } = state
  const d = payload.variables.length
  const weights: DetectorWeights = {
    d,
    lags: params.lags,
    center: Float64Array.from(payload.center),
    scale: Float64Array.from(payload.scale),
    forecast: Float64Array.from(payload.forecast),
    residualScale: Float64Array.from(payload.residualScale),
    pcaMean: Float64Array.from(payload.pcaMean),
    pcaBasis: Float64Array.from(payload.pcaBasis),
    pcaRank: payload.pcaRank,
    reconScale: Float64Array.from(payload.reconScale),
  }
  const trainingCorrelation = Float64Array.from(payload.trainingCorrelation)
  const W = params.slidingWindow
  const span = params.lags + params.smoothing
  const threshold = payload.threshold
  // Scratch buffers reused across calls (scoring is synchronous, so no call can interleave with another).
  const scaledSpan = Array.from({ length: span }, () => new Float64Array(d))
  const errorsSpan = Array.from({ length: params.smoothing }, () => new Float64Array(d))
  const scratch = new Float64Array(d + payload.pcaRank)
  const smoothed = new Float64Array(d)
  const sortBuffer = new Float64Array(d)

  function checkWidth(row: Float64Array | undefined): void {
    if (row === undefined || row.length !== d) {
      throw new RangeError(`expected rows of ${d} values (${payload.variables.join(', ')}), got ${row?.length ?? 0}`)
    }
  }

  /** Turns smoothed per-variable errors of the row ending `windowRows` into an AnomalyValue. */
  function finish(windowRows: readonly Float64Array[], end: number, topN: number): AnomalyValue {
    for (let j = 0; j < d; j++) smoothed[j] = (smoothed[j] as number) / params.smoothing
    const raw = topMean(smoothed, params.topVariables, sortBuffer)
    const isAnomaly = raw > threshold
    const score = raw + threshold > 0 ? (2 * raw) / (raw + threshold) : 0
    if (!isAnomaly) return { isAnomaly, score, severity: 0, interpretation: [] }
    return {
      isAnomaly,
      score,
      severity: 1 - threshold / raw,
      interpretation: interpret(windowRows, end, Math.max(1, Math.min(30, topN))),
    }
  }

  function interpret(windowRows: readonly Float64Array[], end: number, topN: number): Contributor[] {
    const order = Array.from({ length: d }, (_, j) => j).sort(
      (a, b) => (smoothed[b] as number) - (smoothed[a] as number) || a - b,
    )
    const chosen = order.slice(0, Math.min(topN, d))
    const total = chosen.reduce((s, j) => s + (smoothed[j] as number), 0)
    // Correlations inside the window, on scaled values, for the chosen contributors only.
    const start = end - W + 1
    const scaled = windowRows.slice(start, end + 1).map((row) => {
      const out = new Float64Array(d)
      scaleRow(weights, row, out)
      return out
    })
    return chosen.map((j) => ({
      variable: payload.variables[j] as string,
      contributionScore: total > 0 ? (smoothed[j] as number) / total : 1 / chosen.length,
      correlationChanges: { changedVariables: changedVariables(scaled, j) },
    }))
  }

  function changedVariables(scaled: readonly Float64Array[], j: number): string[] {
    const n = scaled.length
    let meanJ = 0
    for (const row of scaled) meanJ += (row[j] as number) / n
    let varJ = 0
    for (const row of scaled) varJ += ((row[j] as number) - meanJ) ** 2
    const changes: { variable: string; delta: number }[] = []
    for (let k = 0; k < d; k++) {
      if (k === j) continue
      let meanK = 0
      for (const row of scaled) meanK += (row[k] as number) / n
      let varK = 0
      let cov = 0
      for (const row of scaled) {
        const dk = (row[k] as number) - meanK
        varK += dk * dk
        cov += dk * ((row[j] as number) - meanJ)
      }
      const denominator = Math.sqrt(varJ * varK)
      const now = denominator > 1e-12 ? cov / denominator : 0
      const delta = Math.abs(now - (trainingCorrelation[j * d + k] as number))
      if (delta >= params.correlationChange) changes.push({ variable: payload.variables[k] as string, delta })
    }
    return changes
      .sort((a, b) => b.delta - a.delta || a.variable.localeCompare(b.variable))
      .slice(0, MAX_CHANGED_VARIABLES)
      .map((c) => c.variable)
  }

  function scoreLast(window: readonly Float64Array[], topContributorCount = 10): AnomalyValue {
    if (window.length < W) throw new RangeError(`detect-last needs ${W} rows, got ${window.length}`)
    const end = window.length - 1
    for (let s = 0; s < span; s++) {
      const row = window[end - span + 1 + s]
      checkWidth(row)
      scaleRow(weights, row as Float64Array, scaledSpan[s] as Float64Array)
    }
    smoothed.fill(0)
    for (let k = params.smoothing - 1; k >= 0; k--) {
      const errors = errorsSpan[k] as Float64Array
      rowErrors(weights, scaledSpan, span - 1 - k, errors, scratch)
      for (let j = 0; j < d; j++) smoothed[j] = (smoothed[j] as number) + (errors[j] as number)
    }
    return finish(window, end, topContributorCount)
  }

  function scoreSeries(rows: readonly Float64Array[], topContributorCount = 10): (AnomalyValue | null)[] {
    const scaled = rows.map((row) => {
      checkWidth(row)
      const out = new Float64Array(d)
      scaleRow(weights, row, out)
      return out
    })
    const perRow: (Float64Array | undefined)[] = new Array<Float64Array | undefined>(rows.length)
    const results: (AnomalyValue | null)[] = []
    for (let i = 0; i < rows.length; i++) {
      if (i >= params.lags) {
        const errors = new Float64Array(d)
        rowErrors(weights, scaled, i, errors, scratch)
        perRow[i] = errors
      }
      if (i < W - 1) {
        results.push(null)
        continue
      }
      smoothed.fill(0)
      for (let k = params.smoothing - 1; k >= 0; k--) {
        const errors = perRow[i - k] as Float64Array
        for (let j = 0; j < d; j++) smoothed[j] = (smoothed[j] as number) + (errors[j] as number)
      }
      results.push(finish(rows, i, topContributorCount))
      perRow[i - W + 1] = undefined // no longer needed by any later window
    }
    return results
  }

  return { variables: payload.variables, slidingWindow: W, scoreLast, scoreSeries }
}
