/**
 * Parameter search with labels: fit on the training series, score the validation series (continuing from the
 * training tail), and keep the parameters whose own isAnomaly decision has the best point-wise F1.
 * Deterministic: a fixed grid, visited in order; ties keep the earlier (simpler) candidate.
 */
import type { AlignedSeries } from '../domain/types.js'
import { pointMetrics } from '../eval/metrics.js'
import { fitModel } from './fit.js'
import { resolveParams, type ModelParams } from './params.js'
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

export const DEFAULT_TUNE_GRID: readonly Partial<ModelParams>[] = Object.freeze(
  [1, 5, 10].flatMap((smoothing) =>
    [1, 3, 0].flatMap((topVariables) => [0.01, 0.001].map((riskLevel) => ({ smoothing, topVariables, riskLevel }))),
  ),
)

export function tune(
  train: AlignedSeries,
  validation: AlignedSeries,
  labels: readonly number[],
  base: Partial<ModelParams> = {},
  grid: readonly Partial<ModelParams>[] = DEFAULT_TUNE_GRID,
): TuneResult {
  if (labels.length !== validation.rows.length) {
    throw new RangeError(`labels (${labels.length}) and validation rows (${validation.rows.length}) differ in length`)
  }
  const results: TuneCandidate[] = []
  let best: { candidate: TuneCandidate; state: ModelState } | undefined
  for (const point of grid) {
    const params = { ...base, ...point }
    const { state } = fitModel(train, params)
    const scorer = createScorer(state)
    const history = state.payload.trainingTail.map((row) => Float64Array.from(row))
    const scored = scorer.scoreSeries([...history, ...validation.rows]).slice(history.length)
    const { f1, precision, recall } = pointMetrics(
      scored.map((value) => value?.isAnomaly === true),
      labels,
    )
    const candidate = { params: { ...resolveParams(params), ...point }, f1, precision, recall }
    results.push(candidate)
    if (best === undefined || f1 > best.candidate.f1) best = { candidate, state }
  }
  if (best === undefined) throw new RangeError('tune needs at least one grid point')
  return { best: best.candidate, state: best.state, grid: results }
}
