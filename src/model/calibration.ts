/**
 * Calibration inputs: the score parts of the training rows exactly as the scorer gives them, and the volatility
 * units. Pure; used by fit.ts (calibrate).
 */
import { meanNovelty, noveltyPeak, rowVolatility, topMean } from './detector.js'
import { volatilityRows, type ModelParams } from './params.js'
import { quantile } from './threshold.js'

/** Calibration rows wanted before falling back to rows without a full window before them (see calibrationParts). */
const MIN_CALIBRATION_ROWS = 1000
/** Quantile of a variable's training volatility that becomes its unit ζ. */
const VOLATILITY_UNIT_QUANTILE = 0.999
/** Smallest volatility unit, in scaled units: a variable that barely moved in training is not amplified without end. */
const MIN_VOLATILITY_UNIT = 0.05

/**
 * ζ_j of every variable: the training 99.9th percentile of its volatility over `rows` rows (at least
 * MIN_VOLATILITY_UNIT); 0 — left out of the volatility part — for two-state channels (their transitions are scored
 * by surprisal already) and for variables that did not move in training. Empty when `rows` is 0 (no volatility part).
 */
export function volatilityUnits(scaled: readonly Float64Array[], rows: number, twoStateSlot: Int32Array): Float64Array {
  const d = scaled[0]?.length ?? 0
  if (rows <= 0) return new Float64Array(0)
  const n = scaled.length
  const ones = new Float64Array(d).fill(1)
  const buffer = new Float64Array(d)
  const columns = Array.from({ length: d }, () => new Float64Array(Math.max(n - rows, 0)))
  for (let t = rows; t < n; t++) {
    rowVolatility(scaled, t, rows, ones, buffer)
    for (let j = 0; j < d; j++) (columns[j] as Float64Array)[t - rows] = buffer[j] as number
  }
  return Float64Array.from(columns, (column, j) => {
    if ((twoStateSlot[j] as number) >= 0 || column.length === 0) return 0
    column.sort()
    const q = quantile(column as unknown as number[], VOLATILITY_UNIT_QUANTILE)
    return q > 0 ? Math.max(q, MIN_VOLATILITY_UNIT) : 0
  })
}

export interface CalibrationInputs {
  /** Per-variable errors of every training row. */
  errors: readonly Float64Array[]
  /** Novelty of every training row. */
  novelty: Float64Array
  scaled: readonly Float64Array[]
}

/**
 * The score parts of the training rows the scorer would score (same maths): the model part (smoothed, top-mean
 * errors), the novelty part (mean novelty over the last noveltySmoothing rows; `heldNovelty` is its peak over the
 * last `hold` rows, as scored) and the volatility part. Like detect-batch, they start
 * at the first row with a full window before it, so the scales and the threshold describe exactly the scores the
 * service gives, and the first rows of a recording (often a start-up transient) do not set the threshold; when
 * that would leave fewer than MIN_CALIBRATION_ROWS rows, earlier rows with a full span are used too.
 */
export function calibrationParts(
  inputs: CalibrationInputs,
  p: ModelParams,
  hold: number,
  volatilityUnit: Float64Array,
): { model: number[]; novelty: number[]; heldNovelty: number[]; volatility: number[] } {
  const { errors: perRow, novelty, scaled } = inputs
  const d = perRow[0]?.length ?? 0
  const n = perRow.length
  const volatilitySpan = volatilityUnit.length > 0 ? volatilityRows(p) : 0
  const smoothed = new Float64Array(d)
  const sortBuffer = new Float64Array(d)
  const volatilityBuffer = new Float64Array(d)
  const model: number[] = []
  const noveltyPart: number[] = []
  const heldNovelty: number[] = []
  const volatility: number[] = []
  const firstWithSpan = Math.max(p.lags + p.smoothing, p.noveltySmoothing + hold - 1, volatilitySpan + 1) - 1
  const first = Math.max(firstWithSpan, Math.min(p.slidingWindow - 1, n - MIN_CALIBRATION_ROWS))
  // Smoothed novelty of every row with a full span, once (the hold reads each up to `hold` times).
  const smoothedNovelty = new Float64Array(n).fill(Number.NaN)
  for (let t = p.noveltySmoothing - 1; t < n; t++) smoothedNovelty[t] = meanNovelty(novelty, t, p.noveltySmoothing)
  for (let t = first; t < n; t++) {
    smoothed.fill(0)
    for (let k = p.smoothing - 1; k >= 0; k--) {
      const e = perRow[t - k] as Float64Array
      for (let j = 0; j < d; j++) smoothed[j] = (smoothed[j] as number) + (e[j] as number)
    }
    for (let j = 0; j < d; j++) smoothed[j] = (smoothed[j] as number) / p.smoothing
    model.push(topMean(smoothed, p.topVariables, sortBuffer))
    noveltyPart.push(smoothedNovelty[t] as number)
    heldNovelty.push(smoothedNovelty[noveltyPeak(smoothedNovelty, t, hold)] as number)
    volatility.push(volatilitySpan > 0 ? rowVolatility(scaled, t, volatilitySpan, volatilityUnit, volatilityBuffer) : 0)
  }
  return { model, novelty: noveltyPart, heldNovelty, volatility }
}
