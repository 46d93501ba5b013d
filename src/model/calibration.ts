/**
 * Calibration inputs: the score parts of the training rows exactly as the scorer gives them, and the units of the
 * change parts. Pure; used by fit.ts (calibrate).
 */
import { meanNovelty, noveltyPeak, rowChanges, topMean, type ChangeUnits } from './detector.js'
import { volatilityRows, type ModelParams } from './params.js'
import { quantile } from './threshold.js'

/** Calibration rows wanted before falling back to rows without a full window before them (see calibrationParts). */
const MIN_CALIBRATION_ROWS = 1000
/** Quantile of a variable's training RMS change that becomes its volatility unit ζ. */
const VOLATILITY_UNIT_QUANTILE = 0.999
/** Smallest volatility unit, in scaled units: a variable that barely moved in training is not amplified without end. */
const MIN_VOLATILITY_UNIT = 0.05
/** Quantile of a variable's training RMS change that becomes its stillness unit λ. */
const STILLNESS_UNIT_QUANTILE = 0.001
/**
 * Smallest stillness unit, in scaled units: a variable that sat (nearly) still for stretches of training cannot be
 * stiller than ever, and is left out of the stillness part.
 */
const MIN_STILLNESS_UNIT = 1e-3

/**
 * Units of the change parts over `rows` rows, from the RMS change of every variable in every training window: ζ_j
 * its 99.9th percentile (at least MIN_VOLATILITY_UNIT), λ_j its 0.1th percentile. Two-state channels (their
 * transitions are scored by surprisal already) get 0 in both — left out; so does, for volatility, a variable that
 * did not move in training, and for stillness one whose λ is under MIN_STILLNESS_UNIT. Empty when `rows` is 0
 * (no change parts).
 */
export function changeUnits(scaled: readonly Float64Array[], rows: number, twoStateSlot: Int32Array): ChangeUnits {
  const d = scaled[0]?.length ?? 0
  if (rows <= 0) return { high: new Float64Array(0), low: new Float64Array(0) }
  const n = scaled.length
  const rmsUnits: ChangeUnits = { high: new Float64Array(d).fill(1), low: new Float64Array(d) }
  const rms = new Float64Array(d)
  const unused = new Float64Array(d)
  const largest = new Float64Array(2)
  const columns = Array.from({ length: d }, () => new Float64Array(Math.max(n - rows, 0)))
  for (let t = rows; t < n; t++) {
    rowChanges(scaled, t, rows, rmsUnits, rms, unused, largest) // ζ = 1: the RMS change itself
    for (let j = 0; j < d; j++) (columns[j] as Float64Array)[t - rows] = rms[j] as number
  }
  const high = new Float64Array(d)
  const low = new Float64Array(d)
  columns.forEach((column, j) => {
    if ((twoStateSlot[j] as number) >= 0 || column.length === 0) return
    column.sort()
    const top = quantile(column as unknown as number[], VOLATILITY_UNIT_QUANTILE)
    high[j] = top > 0 ? Math.max(top, MIN_VOLATILITY_UNIT) : 0
    const bottom = quantile(column as unknown as number[], STILLNESS_UNIT_QUANTILE)
    low[j] = bottom >= MIN_STILLNESS_UNIT ? bottom : 0
  })
  return { high, low }
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
 * last `hold` rows, as scored) and the change parts (volatility, stillness). Like detect-batch, they start
 * at the first row with a full window before it, so the scales and the threshold describe exactly the scores the
 * service gives, and the first rows of a recording (often a start-up transient) do not set the threshold; when
 * that would leave fewer than MIN_CALIBRATION_ROWS rows, earlier rows with a full span are used too.
 */
export function calibrationParts(
  inputs: CalibrationInputs,
  p: ModelParams,
  hold: number,
  units: ChangeUnits,
): { model: number[]; novelty: number[]; heldNovelty: number[]; volatility: number[]; stillness: number[] } {
  const { errors: perRow, novelty, scaled } = inputs
  const d = perRow[0]?.length ?? 0
  const n = perRow.length
  const changeSpan = units.high.length > 0 ? volatilityRows(p) : 0
  const smoothed = new Float64Array(d)
  const sortBuffer = new Float64Array(d)
  const volatilityBuffer = new Float64Array(d)
  const stillnessBuffer = new Float64Array(d)
  const largest = new Float64Array(2)
  const model: number[] = []
  const noveltyPart: number[] = []
  const heldNovelty: number[] = []
  const volatility: number[] = []
  const stillness: number[] = []
  const firstWithSpan = Math.max(p.lags + p.smoothing, p.noveltySmoothing + hold - 1, changeSpan + 1) - 1
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
    if (changeSpan > 0) rowChanges(scaled, t, changeSpan, units, volatilityBuffer, stillnessBuffer, largest)
    volatility.push(changeSpan > 0 ? (largest[0] as number) : 0)
    stillness.push(changeSpan > 0 ? (largest[1] as number) : 0)
  }
  return { model, novelty: noveltyPart, heldNovelty, volatility, stillness }
}
