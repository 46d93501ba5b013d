/**
 * Training: robust scaling → ridge vector autoregression → principal subspace → per-variable error spreads,
 * two-state channels' transition surprisals, tail scales and level scales → prototypes of the training states
 * (novelty) → training scores → label-free threshold.
 * Deterministic: closed forms, and k-means seeded by `params.seed`.
 */
import { EigenvalueDecomposition, Matrix, solve } from 'ml-matrix'
import type { AlignedSeries } from '../domain/types.js'
import { ServiceError } from '../errors.js'
import { medianStep } from '../data/timestamp.js'
import {
  STILLNESS_WEIGHT,
  VOLATILITY_WEIGHT,
  rowErrors,
  scaleRow,
  type ChangeUnits,
  type DetectorWeights,
} from './detector.js'
import { calibrationParts, changeUnits } from './calibration.js'
import { assertModellable, assertTrainingRows, trainingWarnings } from './training-input.js'
import { noveltyHoldRows, resolveParams, volatilityRows, type ModelParams } from './params.js'
import { MODEL_KIND, MODEL_STATE_VERSION, type ModelState, type TrainingDiagnostics } from './state.js'
import { NoveltyMeter, clipRow, fitPrototypes, type Prototypes } from './prototypes.js'
import { calibrateThreshold, quantile } from './threshold.js'
import { discreteLookup, fitDiscreteChannels } from './discrete.js'
import { forecastInflations } from './leverage.js'
import { trainingErrors, withErrorScale } from './training-errors.js'

/** Smallest spread a variable may have, in scaled units: a channel that never moved in training still gets a finite z. */
const MIN_SPREAD = 0.1
/** Quantile of a variable's training errors that becomes its error scale η (never below 1: calm channels are not amplified). */
const ERROR_SCALE_QUANTILE = 0.999
/** Quantile of a variable's training |z| that becomes its level scale (ranking contributors). */
const LEVEL_SCALE_QUANTILE = 0.999
/** Quantile of each score part on training rows that becomes its scale τ. */
const SCORE_SCALE_QUANTILE = 0.99
/** Smallest scale τ of a score part that is not 0 (all parts are in units of a robust spread or of their own). */
const MIN_SCORE_SCALE = 1e-3
/** Fewest training rows per k-means centroid (see the prototypes step). */
const MIN_ROWS_PER_CENTROID = 20

export interface FitOptions {
  onProgress?: (fraction: number, stage: string) => void
}

/**
 * Parameters the fitted weights (scaling, forecaster, subspace, error scales, prototypes) depend on. The others —
 * smoothing, topVariables, novelty smoothing and hold, volatilityWindow, riskLevel, correlationChange,
 * slidingWindow — only shape the score and its calibration (calibrate), so a parameter search fits the weights once
 * per combination of these.
 */
export const WEIGHT_PARAMS = ['lags', 'ridge', 'pcaVariance', 'noveltyPrototypes', 'seed'] as const
export type WeightParams = Pick<ModelParams, (typeof WEIGHT_PARAMS)[number]>

/** The fitted weights of a training series, with what calibrating them needs (per-row training errors, novelty). */
export interface FittedWeights {
  params: WeightParams
  series: AlignedSeries
  weights: DetectorWeights
  levelScale: Float64Array
  discreteChannels: ReturnType<typeof fitDiscreteChannels>
  prototypes: Prototypes
  correlation: Float64Array
  /** Per-variable errors of every training row (zeros for the first `lags` rows). */
  errors: Float64Array[]
  /** Novelty of every training row (zeros without prototypes). */
  novelty: Float64Array
  /** The scaled training rows (volatility is measured on them at calibration). */
  scaled: Float64Array[]
  /** Units of the change parts by window length, made on first use (a parameter search calibrates many times). */
  changeUnits: Map<number, ChangeUnits>
  stageSeconds: Record<string, number>
}

/** Fits and calibrates a model: fitWeights, then calibrate with the same parameters. */
export function fitModel(
  series: AlignedSeries,
  params: Partial<ModelParams> = {},
  options: FitOptions = {},
): { state: ModelState; diagnostics: TrainingDiagnostics } {
  return calibrate(fitWeights(series, params, options), params, options)
}

function stageTimer(
  stageSeconds: Record<string, number>,
  options: FitOptions,
): (name: string, fraction: number) => void {
  let stageStart = performance.now()
  return (name, fraction) => {
    const now = performance.now()
    stageSeconds[name] = (now - stageStart) / 1000
    stageStart = now
    options.onProgress?.(fraction, name)
  }
}

/** Stages 1–5 and the training correlations: everything that depends only on WEIGHT_PARAMS (and the data). */
export function fitWeights(
  series: AlignedSeries,
  params: Partial<ModelParams> = {},
  options: FitOptions = {},
): FittedWeights {
  const p = resolveParams(params)
  const rows = series.rows
  const n = rows.length
  const d = series.variables.length
  if (d === 0) throw new ServiceError('NoVariablesFound', 'training data has no variables')
  assertTrainingRows(n, p)
  assertModellable(series)
  const stageSeconds: Record<string, number> = {}
  const stage = stageTimer(stageSeconds, options)

  // 1. Robust scaling.
  const center = new Float64Array(d)
  const scale = new Float64Array(d)
  const column = new Float64Array(n)
  for (let j = 0; j < d; j++) {
    for (let t = 0; t < n; t++) column[t] = (rows[t] as Float64Array)[j] as number
    const sorted = Float64Array.from(column).sort()
    const median = quantile(sorted as unknown as number[], 0.5)
    const iqr = quantile(sorted as unknown as number[], 0.75) - quantile(sorted as unknown as number[], 0.25)
    let mean = 0
    for (let t = 0; t < n; t++) mean += column[t] as number
    mean /= n
    let variance = 0
    for (let t = 0; t < n; t++) variance += ((column[t] as number) - mean) ** 2
    const std = Math.sqrt(variance / n)
    center[j] = median
    const spread = Math.max(iqr / 1.349, std)
    // Constant unless the spread is above rounding noise for the variable's own magnitude (an absolute floor left a
    // variable measured in units of 1e-12 unscaled, so invisible, however much it moved).
    let magnitude = 0
    for (let t = 0; t < n; t++) magnitude = Math.max(magnitude, Math.abs(column[t] as number))
    scale[j] = spread > 1e-9 * magnitude && spread > 0 ? spread : 1
  }
  const scaled = rows.map((row) => {
    const out = new Float64Array(d)
    scaleRow({ d, center, scale } as DetectorWeights, row, out)
    return out
  })
  stage('scaling', 0.1)

  // 2. Ridge vector autoregression: features [z_{t−1} … z_{t−L}, 1] → z_t.
  const f = p.lags * d + 1
  const xtx = new Float64Array(f * f)
  const xty = new Float64Array(f * d)
  const features = new Float64Array(f)
  for (let t = p.lags; t < n; t++) {
    for (let l = 1; l <= p.lags; l++) features.set(scaled[t - l] as Float64Array, (l - 1) * d)
    features[f - 1] = 1
    const target = scaled[t] as Float64Array
    for (let a = 0; a < f; a++) {
      const fa = features[a] as number
      if (fa === 0) continue
      const rowOffset = a * f
      for (let b = a; b < f; b++) xtx[rowOffset + b] = (xtx[rowOffset + b] as number) + fa * (features[b] as number)
      const yOffset = a * d
      for (let j = 0; j < d; j++) xty[yOffset + j] = (xty[yOffset + j] as number) + fa * (target[j] as number)
    }
  }
  let diagonalMean = 0
  for (let a = 0; a < f; a++) diagonalMean += xtx[a * f + a] as number
  diagonalMean /= f
  const lambda = p.ridge * Math.max(diagonalMean, 1e-12)
  const gram = new Matrix(f, f)
  for (let a = 0; a < f; a++) {
    for (let b = a; b < f; b++) {
      const v = (xtx[a * f + b] as number) + (a === b ? lambda : 0)
      gram.set(a, b, v)
      gram.set(b, a, v)
    }
  }
  const rhs = new Matrix(f, d)
  for (let a = 0; a < f; a++) for (let j = 0; j < d; j++) rhs.set(a, j, xty[a * d + j] as number)
  const solution = solve(gram, rhs, true)
  const forecast = new Float64Array(f * d)
  for (let a = 0; a < f; a++) for (let j = 0; j < d; j++) forecast[a * d + j] = solution.get(a, j)
  const forecastInflation = forecastInflations(gram, scaled, p.lags)
  stage('forecaster', 0.4)

  // 3. Principal subspace of the scaled training data.
  const pcaMean = new Float64Array(d)
  for (const z of scaled) for (let j = 0; j < d; j++) pcaMean[j] = (pcaMean[j] as number) + (z[j] as number) / n
  const covariance = new Matrix(d, d)
  for (const z of scaled) {
    for (let a = 0; a < d; a++) {
      const za = (z[a] as number) - (pcaMean[a] as number)
      for (let b = a; b < d; b++)
        covariance.set(a, b, covariance.get(a, b) + za * ((z[b] as number) - (pcaMean[b] as number)))
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = covariance.get(a, b) / n
      covariance.set(a, b, v)
      covariance.set(b, a, v)
    }
  }
  const evd = new EigenvalueDecomposition(covariance, { assumeSymmetric: true })
  const eigenvalues = evd.realEigenvalues
  const order = eigenvalues
    .map((value, index) => ({ value, index }))
    .sort((x, y) => y.value - x.value || x.index - y.index)
  const total = order.reduce((s, e) => s + Math.max(e.value, 0), 0)
  let pcaRank = 0
  let kept = 0
  while (pcaRank < d - 1 && total > 0 && kept / total < p.pcaVariance) {
    kept += Math.max((order[pcaRank] as { value: number }).value, 0)
    pcaRank++
  }
  const vectors = evd.eigenvectorMatrix
  const pcaBasis = new Float64Array(pcaRank * d)
  for (let c = 0; c < pcaRank; c++) {
    const index = (order[c] as { index: number }).index
    // Fix each direction's sign (largest component positive) so states do not depend on solver sign choices.
    let largest = 0
    for (let j = 0; j < d; j++) if (Math.abs(vectors.get(j, index)) > Math.abs(largest)) largest = vectors.get(j, index)
    const sign = largest < 0 ? -1 : 1
    for (let j = 0; j < d; j++) pcaBasis[c * d + j] = sign * vectors.get(j, index)
  }
  stage('subspace', 0.55)

  // 4. Error spreads on the training rows (both parts first with unit spread, then normalised), from the rows'
  // leave-one-out forecast residuals (leverage.ts), as are the training errors that calibrate the score.
  const weights: DetectorWeights = {
    d,
    lags: p.lags,
    center,
    scale,
    forecast,
    residualScale: new Float64Array(d).fill(1),
    pcaMean,
    pcaBasis,
    pcaRank,
    reconScale: new Float64Array(d).fill(Number.POSITIVE_INFINITY),
    errorScale: new Float64Array(d).fill(1),
    discrete: discreteLookup([], d), // spreads first, from the residuals of every channel
  }
  const forecastSquares = new Float64Array(d)
  const errors = new Float64Array(d)
  const scratch = new Float64Array(d + pcaRank)
  for (let t = p.lags; t < n; t++) {
    rowErrors(weights, scaled, t, errors, scratch, forecastInflation[t])
    for (let j = 0; j < d; j++) forecastSquares[j] = (forecastSquares[j] as number) + 2 * (errors[j] as number)
  }
  const reconSquares = new Float64Array(d)
  for (let t = 0; t < n; t++) {
    const z = scaled[t] as Float64Array
    for (let c = 0; c < pcaRank; c++) {
      let sum = 0
      for (let j = 0; j < d; j++) sum += ((z[j] as number) - (pcaMean[j] as number)) * (pcaBasis[c * d + j] as number)
      scratch[c] = sum
    }
    for (let j = 0; j < d; j++) {
      let reconstructed = 0
      for (let c = 0; c < pcaRank; c++) reconstructed += (scratch[c] as number) * (pcaBasis[c * d + j] as number)
      const q = (z[j] as number) - (pcaMean[j] as number) - reconstructed
      reconSquares[j] = (reconSquares[j] as number) + q * q
    }
  }
  const residualScale = Float64Array.from(forecastSquares, (s) => Math.max(Math.sqrt(s / (n - p.lags)), MIN_SPREAD))
  const reconScale = Float64Array.from(reconSquares, (s) => Math.max(Math.sqrt(s / n), MIN_SPREAD))
  weights.residualScale = residualScale
  weights.reconScale = reconScale
  const discreteChannels = fitDiscreteChannels(scaled, d)
  weights.discrete = discreteLookup(discreteChannels, d)
  const perRowErrors = trainingErrors(weights, scaled, forecastInflation)
  const errorScale = new Float64Array(d)
  const errorColumn = new Float64Array(n - p.lags)
  for (let j = 0; j < d; j++) {
    for (let t = p.lags; t < n; t++) errorColumn[t - p.lags] = (perRowErrors[t] as Float64Array)[j] as number
    errorColumn.sort()
    errorScale[j] = Math.max(quantile(errorColumn as unknown as number[], ERROR_SCALE_QUANTILE), 1)
  }
  weights.errorScale = errorScale
  const levelScale = new Float64Array(d)
  for (let j = 0; j < d; j++) {
    for (let t = 0; t < n; t++) column[t] = Math.abs((scaled[t] as Float64Array)[j] as number)
    const sorted = Float64Array.from(column).sort()
    levelScale[j] = Math.max(quantile(sorted as unknown as number[], LEVEL_SCALE_QUANTILE), MIN_SPREAD)
  }
  const finalErrors = withErrorScale(weights, scaled, forecastInflation, perRowErrors)
  stage('spreads', 0.6)

  // 5. Prototypes of the training states (novelty part).
  const clipped = scaled.map((z) => {
    const out = new Float64Array(d)
    clipRow(z, out)
    return out
  })
  // Centroids are capped at one per MIN_ROWS_PER_CENTROID rows: with more, k-means memorises the training noise and
  // the training novelty (hence its scale τ) understates what new data from the same process will show.
  const maxCentroids = Math.min(p.noveltyPrototypes, Math.floor(n / MIN_ROWS_PER_CENTROID))
  const prototypes = fitPrototypes(clipped, p.noveltyPrototypes, maxCentroids, p.seed)
  const novelty = noveltyOf(prototypes, clipped)
  stage('prototypes', 0.75)

  const correlation = correlationMatrix(scaled, 0, n, d)
  stage('correlations', 0.8)
  return {
    params: {
      lags: p.lags,
      ridge: p.ridge,
      pcaVariance: p.pcaVariance,
      noveltyPrototypes: p.noveltyPrototypes,
      seed: p.seed,
    },
    series,
    weights,
    levelScale,
    discreteChannels,
    prototypes,
    correlation,
    errors: finalErrors,
    novelty,
    scaled,
    changeUnits: new Map(),
    stageSeconds,
  }
}

/**
 * Stage 6: the training scores of fitted weights under `params` → score scales → label-free threshold, and the
 * model state. `params` must agree with the fit on WEIGHT_PARAMS.
 */
export function calibrate(
  fitted: FittedWeights,
  params: Partial<ModelParams> = {},
  options: FitOptions = {},
): { state: ModelState; diagnostics: TrainingDiagnostics } {
  const p = resolveParams(params)
  const mismatch = WEIGHT_PARAMS.filter((name) => p[name] !== fitted.params[name])
  if (mismatch.length > 0) throw new RangeError(`calibrate: weights were fitted with other ${mismatch.join(', ')}`)
  const { series, weights, prototypes, levelScale, discreteChannels, correlation } = fitted
  const { d, center, scale, forecast, residualScale, pcaMean, pcaBasis, pcaRank, reconScale, errorScale } = weights
  const rows = series.rows
  const n = rows.length
  assertTrainingRows(n, p)
  const stageSeconds: Record<string, number> = { ...fitted.stageSeconds }
  const stage = stageTimer(stageSeconds, options)
  const hold = prototypes.count > 0 ? noveltyHoldRows(p) : 1
  const changeRows = volatilityRows(p)
  let units = fitted.changeUnits.get(changeRows)
  if (units === undefined) {
    units = changeUnits(fitted.scaled, changeRows, weights.discrete.slot)
    fitted.changeUnits.set(changeRows, units)
  }
  const parts = calibrationParts(fitted, p, hold, units)
  const scaleOf = (values: number[]): number =>
    quantile(
      [...values].sort((a, b) => a - b),
      SCORE_SCALE_QUANTILE,
    )
  // Each part is divided by its training 99th percentile, or by 1 when that is 0 (a part silent in training:
  // no novelty when every distinct training state is a prototype). A percentile of rounding size is floored:
  // training rows that sit on their prototypes up to rounding (a noiseless cycle) gave τ_novelty 2e-15, and a new
  // row's rounding-level novelty then scored as a large anomaly.
  const positiveOrOne = (v: number): number => (v > 0 ? Math.max(v, MIN_SCORE_SCALE) : 1)
  const scoreScale = {
    model: positiveOrOne(scaleOf(parts.model)),
    novelty: positiveOrOne(scaleOf(parts.novelty)),
    volatility: positiveOrOne(scaleOf(parts.volatility)),
    stillness: positiveOrOne(scaleOf(parts.stillness)),
  }
  // τ_novelty comes from the novelty before the hold (a part's scale is its typical size; the hold only stretches
  // peaks in time), and θ from the scores as the scorer gives them, with the hold.
  const trainingScores = parts.model.map(
    (m, i) =>
      m / scoreScale.model +
      (parts.heldNovelty[i] as number) / scoreScale.novelty +
      (VOLATILITY_WEIGHT * (parts.volatility[i] as number)) / scoreScale.volatility +
      (STILLNESS_WEIGHT * (parts.stillness[i] as number)) / scoreScale.stillness,
  )
  const thresholdFit = calibrateThreshold(trainingScores, p.riskLevel)
  stage('threshold', 0.85)

  // The tail that warm-starts detection.
  const tail = rows.slice(-p.slidingWindow).map((row) => Array.from(row))
  stage('state', 1)

  const sortedScores = [...trainingScores].sort((a, b) => a - b)
  const state: ModelState = {
    kind: MODEL_KIND,
    version: MODEL_STATE_VERSION,
    params: p,
    payload: {
      variables: [...series.variables],
      center: Array.from(center),
      scale: Array.from(scale),
      forecast: Array.from(forecast),
      residualScale: Array.from(residualScale),
      pcaMean: Array.from(pcaMean),
      pcaBasis: Array.from(pcaBasis),
      pcaRank,
      reconScale: Array.from(reconScale),
      errorScale: Array.from(errorScale),
      levelScale: Array.from(levelScale),
      discreteChannels,
      prototypes: Array.from(prototypes.values.subarray(0, prototypes.count * d)),
      prototypeCount: prototypes.count,
      scoreScale,
      volatilityScale: Array.from(units.high),
      stillnessScale: Array.from(units.low),
      trainingCorrelation: Array.from(correlation),
      threshold: thresholdFit.threshold,
      trainingTail: tail,
      trainingEnd: series.timestamps[n - 1] ?? null,
      trainingStep: medianStep(series.timestamps) ?? null,
    },
  }
  const diagnostics: TrainingDiagnostics = {
    stageSeconds,
    rows: n,
    variables: d,
    pcaRank,
    forecastResidualRms: Array.from(residualScale),
    reconstructionResidualRms: Array.from(reconScale),
    twoStateChannels: discreteChannels.map((c) => series.variables[c.variable] as string),
    trainingScoreQuantiles: {
      p50: quantile(sortedScores, 0.5),
      p99: quantile(sortedScores, 0.99),
      max: sortedScores[sortedScores.length - 1] ?? Number.NaN,
    },
    threshold: thresholdFit,
    warnings: trainingWarnings(series, p.lags),
  }
  return { state, diagnostics }
}

/** Novelty (distance to the nearest prototype) of every row; zeros when there are no prototypes. */
function noveltyOf(prototypes: Prototypes, clipped: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(clipped.length)
  if (prototypes.count === 0) return out
  const meter = new NoveltyMeter(prototypes)
  clipped.forEach((z, t) => {
    out[t] = meter.measure(z)
  })
  return out
}

/** Pearson correlations (d × d, row-major) of rows [from, to); constant variables correlate 0 with the others. */
export function correlationMatrix(
  rows: readonly ArrayLike<number>[],
  from: number,
  to: number,
  d: number,
): Float64Array {
  const count = to - from
  const mean = new Float64Array(d)
  for (let t = from; t < to; t++)
    for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + ((rows[t] as ArrayLike<number>)[j] as number) / count
  const cov = new Float64Array(d * d)
  for (let t = from; t < to; t++) {
    const row = rows[t] as ArrayLike<number>
    for (let a = 0; a < d; a++) {
      const da = (row[a] as number) - (mean[a] as number)
      for (let b = a; b < d; b++)
        cov[a * d + b] = (cov[a * d + b] as number) + da * ((row[b] as number) - (mean[b] as number))
    }
  }
  const out = new Float64Array(d * d)
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const denominator = Math.sqrt((cov[a * d + a] as number) * (cov[b * d + b] as number))
      const r = a === b ? 1 : denominator > 1e-12 ? (cov[a * d + b] as number) / denominator : 0
      out[a * d + b] = r
      out[b * d + a] = r
    }
  }
  return out
}
