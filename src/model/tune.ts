/**
 * Parameter search with labels: fit on the training series, score the validation series (continuing from the
 * training tail), and keep the parameters whose own isAnomaly decision has the best point-wise F1.
 * Deterministic: a fixed grid, visited in order; ties keep the earlier candidate (the defaults come first).
 * The grid varies parameters that only shape the score and its calibration, so the weights are fitted once per
 * combination of WEIGHT_PARAMS (once for the default grid) and each point costs a calibration and a scoring pass.
 */
import { ServiceError } from '../errors.js'
import type { AlignedSeries } from '../domain/types.js'
import { pointMetrics } from '../eval/metrics.js'
import { continuesTail } from '../pipeline/detect-batch.js'
import { WEIGHT_PARAMS, calibrate, fitWeights, type FittedWeights } from './fit.js'
import { DEFAULT_MODEL_PARAMS, resolveParams, type ModelParams } from './params.js'
import { createScorer } from './scorer.js'
import type { ModelState } from './state.js'

export interface TuneCandidate {
  params: Partial<ModelParams>
  f1: number
  precision: number
  recall: number
}

export interface TuneResult {
  best: TuneCandidate
  state: ModelState
  grid: TuneCandidate[]
}

/** The defaults first; smoothing, how many variables make the model part, the novelty hold and the risk level. */
export const DEFAULT_TUNE_GRID: readonly Partial<ModelParams>[] = Object.freeze(
  firstOf(DEFAULT_MODEL_PARAMS.smoothing, [1, 10]).flatMap((smoothing) =>
    firstOf(DEFAULT_MODEL_PARAMS.topVariables, [3, 0]).flatMap((topVariables) =>
      firstOf(DEFAULT_MODEL_PARAMS.noveltyHold, [1]).flatMap((noveltyHold) =>
        firstOf(DEFAULT_MODEL_PARAMS.riskLevel, [0.01, 0.001]).map((riskLevel) => ({
          smoothing,
          topVariables,
          noveltyHold,
          riskLevel,
        })),
      ),
    ),
  ),
)

function firstOf(first: number, others: readonly number[]): number[] {
  return [first, ...others.filter((v) => v !== first)]
}

export function tune(
  train: AlignedSeries,
  validation: AlignedSeries,
  labels: readonly number[],
  base: Partial<ModelParams> = {},
  grid: readonly Partial<ModelParams>[] = DEFAULT_TUNE_GRID,
  onProgress?: (done: number, total: number) => void,
): TuneResult {
  if (labels.length !== validation.rows.length) {
    throw new RangeError(`labels (${labels.length}) and validation rows (${validation.rows.length}) differ in length`)
  }
  // With no anomaly to find every candidate has F1 0, and the "best" would be the first of the grid.
  if (!labels.some((label) => label === 1)) {
    throw new ServiceError(
      'NoData',
      `no validation row is labelled anomalous (label 1): tune compares parameters by their F1 on labelled anomalies`,
    )
  }
  const results: TuneCandidate[] = []
  let best: { candidate: TuneCandidate; state: ModelState } | undefined
  const fits = new Map<string, FittedWeights>()
  const points = withoutFixed(grid, base)
  for (const [index, point] of points.entries()) {
    const params = { ...base, ...point }
    const resolved = resolveParams(params)
    const key = JSON.stringify(WEIGHT_PARAMS.map((name) => resolved[name]))
    let fitted = fits.get(key)
    if (fitted === undefined) {
      fitted = fitWeights(train, params)
      fits.set(key, fitted)
    }
    const { state } = calibrate(fitted, params)
    const scorer = createScorer(state)
    // The training tail is the validation rows' history only where detect would take it (validation continuing
    // training): otherwise their first rows are unscored there, and counted so here.
    const continues = continuesTail(
      validation.timestamps,
      train.timestamps[train.timestamps.length - 1] ?? Infinity,
      state.payload.trainingStep ?? undefined,
    )
    const history = continues ? state.payload.trainingTail.map((row) => Float64Array.from(row)) : []
    const scored = scorer.scoreSeries([...history, ...validation.rows]).slice(history.length)
    const { f1, precision, recall } = pointMetrics(
      scored.map((value) => value?.isAnomaly === true),
      labels,
    )
    const candidate = { params: { ...resolved, ...point }, f1, precision, recall }
    results.push(candidate)
    if (best === undefined || f1 > best.candidate.f1) best = { candidate, state }
    onProgress?.(index + 1, points.length)
  }
  if (best === undefined) throw new RangeError('tune needs at least one grid point')
  return { best: best.candidate, state: best.state, grid: results }
}

/** The grid without the parameters `base` sets (the caller fixed them), each remaining point once, in grid order. */
function withoutFixed(grid: readonly Partial<ModelParams>[], base: Partial<ModelParams>): Partial<ModelParams>[] {
  const seen = new Set<string>()
  const points: Partial<ModelParams>[] = []
  for (const point of grid) {
    const free = Object.fromEntries(Object.entries(point).filter(([name]) => !(name in base)))
    const key = JSON.stringify(free)
    if (seen.has(key)) continue
    seen.add(key)
    points.push(free)
  }
  return points
}
