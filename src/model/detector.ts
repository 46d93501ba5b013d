/**
 * The numeric heart of the multivariate detector (pure, allocation-light). Per row t of a window:
 *   z_t    = (x_t − center) / scale                         robust per-variable scaling (median, IQR)
 *   r_t    = z_t − Bᵀ[z_{t−1} … z_{t−L}, 1]                 residual of a ridge vector-autoregression
 *   q_t    = (z_t − μ) − PPᵀ(z_t − μ)                        residual outside the training principal subspace
 *   e_t,j  = [½ · (r_t,j / σr_j)² + ½ · (q_t,j / σq_j)²] / η_j   per-variable error, each part normalised by its
 *                                                            training spread, the sum by its training 99.9th
 *                                                            percentile η_j (so a channel whose errors are
 *                                                            heavy-tailed in training is not an alarm whenever
 *                                                            they are), capped so one channel cannot drown out all;
 *                                                            for a two-state channel (a flag) the bracket is the
 *                                                            surprisal of its transition instead (discrete.ts)
 *   S_j    = mean of e_{t−m+1..t, j}                         smoothed over the last m rows of the window
 *   model  = mean of the `topVariables` largest S_j
 *   ν_t    = min_c ‖clip(z_t) − c‖                          novelty: distance to the nearest training prototype
 *   N      = mean of ν over the last m′ rows                 (prototypes.ts)
 *   v_t,j  = √(mean of (z_k,j − z_k−1,j)² over the last V rows) / ζ_j   volatility of a continuous variable, in
 *                                                            units of its training 99.9th percentile ζ_j
 *   Vol    = max_j v_t,j                                     volatility part (two-state and constant channels out)
 *   Still  = max_j min(10, λ_j / ρ_t,j)                      stillness part: ρ the RMS change, λ_j its training
 *                                                            0.1th percentile (variables that always moved)
 *   score  = model / τ_model + N / τ_novelty + ½ Vol / τ_vol + ½ Still / τ_still   raw anomaly score; τ = training
 *                                                            99th percentiles of each part, so the parts speak the
 *                                                            same units
 * A row's result depends only on the rows of its window: scoreLast and scoreSeries call the same functions in
 * the same order, so they agree bit for bit.
 */

import { transitionSurprisal, type DiscreteLookup } from './discrete.js'

/** Numbers the scorer needs, flattened for speed. d = variables, f = L·d + 1 forecast features. */
export interface DetectorWeights {
  d: number
  lags: number
  center: Float64Array
  scale: Float64Array
  /** f × d, row-major: column j forecasts variable j. */
  forecast: Float64Array
  residualScale: Float64Array
  pcaMean: Float64Array
  /** k × d, row-major: orthonormal principal directions. */
  pcaBasis: Float64Array
  pcaRank: number
  reconScale: Float64Array
  /** η_j: training 99.9th percentile of variable j's error (all 1 for version-1 states). */
  errorScale: Float64Array
  /** Two-state channels, whose error is their transition surprisal (none before version 3). */
  discrete: DiscreteLookup
}

/** Largest volatility ratio a variable may show (only an overflow reaches it). */
const MAX_CHANGE_RATIO = 1e12

/** Cap of one variable's normalised error: a channel that leaves its training range stands out, but by a bounded amount. */
export const ERROR_CAP = 400

/** Writes the scaled value of every variable of `row` into `out`. */
export function scaleRow(w: DetectorWeights, row: ArrayLike<number>, out: Float64Array): void {
  for (let j = 0; j < w.d; j++) out[j] = ((row[j] as number) - (w.center[j] as number)) / (w.scale[j] as number)
}

/**
 * Per-variable error of the row at `scaled[t]` (which needs `scaled[t − lags .. t]`), written into `out`.
 * `scratch` holds at least d + k numbers. Training passes each row's leave-one-out inflation (leverage.ts): the
 * forecast residual of a row the forecaster was fitted on, divided by 1 − its leverage, is what that row would show
 * had it been new. Scoring leaves it at 1.
 */
export function rowErrors(
  w: DetectorWeights,
  scaled: readonly Float64Array[],
  t: number,
  out: Float64Array,
  scratch: Float64Array,
  forecastInflation = 1,
): void {
  const { d, lags, forecast, pcaBasis, pcaRank, pcaMean } = w
  const current = scaled[t] as Float64Array
  const previous = scaled[t - 1] as Float64Array
  const { slot } = w.discrete
  // Forecast: start from the bias row (last feature), then add each lag's contribution.
  const biasOffset = lags * d * d
  for (let j = 0; j < d; j++) scratch[j] = forecast[biasOffset + j] as number
  for (let l = 1; l <= lags; l++) {
    const lagged = scaled[t - l] as Float64Array
    const base = (l - 1) * d * d
    for (let i = 0; i < d; i++) {
      const v = lagged[i] as number
      if (v === 0) continue
      const rowOffset = base + i * d
      for (let j = 0; j < d; j++) scratch[j] = (scratch[j] as number) + v * (forecast[rowOffset + j] as number)
    }
  }
  for (let j = 0; j < d; j++) {
    const a = (forecastInflation * ((current[j] as number) - (scratch[j] as number))) / (w.residualScale[j] as number)
    out[j] = 0.5 * a * a
  }
  // Reconstruction: projections onto the k principal directions, then the residual per variable.
  const projection = scratch.subarray(d, d + pcaRank)
  for (let c = 0; c < pcaRank; c++) {
    let sum = 0
    const offset = c * d
    for (let j = 0; j < d; j++)
      sum += ((current[j] as number) - (pcaMean[j] as number)) * (pcaBasis[offset + j] as number)
    projection[c] = sum
  }
  for (let j = 0; j < d; j++) {
    let reconstructed = 0
    for (let c = 0; c < pcaRank; c++) reconstructed += (projection[c] as number) * (pcaBasis[c * d + j] as number)
    const q = ((current[j] as number) - (pcaMean[j] as number) - reconstructed) / (w.reconScale[j] as number)
    const channel = slot[j] as number
    const raw =
      channel < 0
        ? (out[j] as number) + 0.5 * q * q
        : transitionSurprisal(w.discrete, channel, previous[j] as number, current[j] as number)
    const e = raw / (w.errorScale[j] as number)
    out[j] = e > ERROR_CAP ? ERROR_CAP : e
  }
}

/** Mean of the `top` largest values (all when top is 0 or ≥ length). `sortBuffer` has the same length. */
export function topMean(values: Float64Array, top: number, sortBuffer: Float64Array): number {
  const n = values.length
  if (top <= 0 || top >= n) {
    let sum = 0
    for (let j = 0; j < n; j++) sum += values[j] as number
    return sum / n
  }
  if (top === 1) {
    // The default: the largest value, without sorting (a NaN wins, as it would sorted last, so it is not hidden).
    let largest = values[0] as number
    for (let j = 1; j < n; j++) {
      const v = values[j] as number
      if (v > largest || v !== v) largest = v
      if (largest !== largest) break
    }
    return largest
  }
  sortBuffer.set(values)
  sortBuffer.sort()
  let sum = 0
  for (let j = n - top; j < n; j++) sum += sortBuffer[j] as number
  return sum / top
}

/** Mean of novelty[end − m + 1 .. end], summed oldest first (one order everywhere, so every path agrees bit for bit). */
export function meanNovelty(novelty: ArrayLike<number>, end: number, m: number): number {
  let sum = 0
  for (let k = m - 1; k >= 0; k--) sum += novelty[end - k] as number
  return sum / m
}

/**
 * Row of the largest smoothed novelty (meanNovelty per row, in `means`) among the `hold` rows ending at `end`, the
 * earliest on ties: the novelty part is means[that row]. A state never seen keeps the part up for `hold` rows rather
 * than noveltySmoothing: a fault that shows as a burst of new states often carries on in states that look normal
 * one row at a time, and the labelled faults of the benchmark last for hundreds of rows past their first burst.
 */
export function noveltyPeak(means: ArrayLike<number>, end: number, hold: number): number {
  let peak = end - hold + 1
  for (let e = peak + 1; e <= end; e++) if ((means[e] as number) > (means[peak] as number)) peak = e
  return peak
}

/** Weight of the volatility part in the score: a change of variance is evidence, but slower and weaker than a fault. */
export const VOLATILITY_WEIGHT = 0.5
/** Weight of the stillness part (a variable that stops moving: a stuck sensor, a frozen counter). */
export const STILLNESS_WEIGHT = 0.5
/** Largest stillness of a variable: ten times stiller than its stillest training stretch is as still as it gets. */
export const STILLNESS_CAP = 10

/** Per-variable units of the change parts (calibration.ts): 0 leaves a variable out of that part. */
export interface ChangeUnits {
  /** ζ_j: training 99.9th percentile of the RMS change (volatility). */
  high: Float64Array
  /** λ_j: training 0.1th percentile of the RMS change (stillness). */
  low: Float64Array
}

/**
 * The change parts at row `t` of `scaled` (which needs rows t − rows .. t). Per variable j, with ρ_j the RMS of its
 * last `rows` changes: volatility ρ_j / ζ_j into `volatility`, stillness min(STILLNESS_CAP, λ_j / ρ_j) into
 * `stillness` (0 where the unit is 0); their largest values into `largest` [volatility, stillness].
 * Summed oldest first everywhere, so detect-last, detect-batch and training agree bit for bit.
 */
export function rowChanges(
  scaled: readonly Float64Array[],
  t: number,
  rows: number,
  units: ChangeUnits,
  volatility: Float64Array,
  stillness: Float64Array,
  largest: Float64Array,
): void {
  volatility.fill(0)
  for (let k = rows - 1; k >= 0; k--) {
    addSquaredChanges(scaled[t - k] as Float64Array, scaled[t - k - 1] as Float64Array, volatility)
  }
  finishChanges(rows, units, volatility, stillness, largest)
}

/** Adds each variable's squared change from `before` to `now` to `sums`. */
function addSquaredChanges(now: Float64Array, before: Float64Array, sums: Float64Array): void {
  for (let j = 0; j < sums.length; j++) {
    const change = (now[j] as number) - (before[j] as number)
    sums[j] = (sums[j] as number) + change * change
  }
}

/** Each variable's squared change from `before` to `now` (the terms rowChanges sums, 0 + x being x), into `out`. */
export function squaredChanges(now: Float64Array, before: Float64Array, out: Float64Array): void {
  out.fill(0)
  addSquaredChanges(now, before, out)
}

/**
 * rowChanges' second half: `volatility` holds each variable's sum of squared changes over `rows` rows (summed
 * oldest first); turns them into the volatility and stillness parts, in place, and their largest values.
 */
export function finishChanges(
  rows: number,
  units: ChangeUnits,
  volatility: Float64Array,
  stillness: Float64Array,
  largest: Float64Array,
): void {
  let mostVolatile = 0
  let stillest = 0
  for (let j = 0; j < volatility.length; j++) {
    const rms = Math.sqrt((volatility[j] as number) / rows)
    const high = units.high[j] as number
    const low = units.low[j] as number
    // Bounded like a variable's error (ERROR_CAP), but far above any real ratio: a value scaled past 1e154 squares
    // to Infinity, and the score must stay a number.
    const v = high > 0 ? Math.min(rms / high, MAX_CHANGE_RATIO) : 0
    const still = low > 0 ? (rms > low / STILLNESS_CAP ? low / rms : STILLNESS_CAP) : 0
    volatility[j] = v
    stillness[j] = still
    if (v > mostVolatile) mostVolatile = v
    if (still > stillest) stillest = still
  }
  largest[0] = mostVolatile
  largest[1] = stillest
}
