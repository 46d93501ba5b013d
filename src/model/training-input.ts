/**
 * The training-input rules every entry point (CLI, control jobs, REST) and fitModel share: enough rows for one window
 * and a calibration, and no variable without a single value.
 */
import type { AlignedSeries } from '../domain/types.js'
import { ServiceError } from '../errors.js'
import { resolveParams, type ModelParams } from './params.js'

/**
 * Rows the threshold is calibrated on, at the least, after the first full window: with fewer, θ was the largest of a
 * handful of training scores (one, for exactly `slidingWindow` rows) and half of normal rows were flagged.
 */
export const MIN_THRESHOLD_ROWS = 100

/** Fewest training rows for these parameters: one window, then MIN_THRESHOLD_ROWS scores to calibrate θ on. */
export function minTrainingRows(p: Pick<ModelParams, 'slidingWindow' | 'lags' | 'smoothing'>): number {
  return Math.max(p.slidingWindow + MIN_THRESHOLD_ROWS, p.lags + p.smoothing + 10)
}

export function assertTrainingRows(n: number, p: ModelParams, source?: string): void {
  const minRows = minTrainingRows(p)
  if (n < minRows) {
    throw new ServiceError(
      'NotEnoughInput',
      `${source === undefined ? '' : `${source}: `}length of data is ${n}, but the minimum length should be larger than sliding window, which is ${p.slidingWindow}: at least ${minRows} rows (one window, then ${MIN_THRESHOLD_ROWS} rows to calibrate the anomaly threshold on)`,
    )
  }
}

/**
 * What every entry point checks before training, naming its source: enough rows (as fitModel requires) and no
 * variable without a single value in the training data (filled throughout, it would teach the model a constant
 * that is not there: the model then flags almost every row).
 */
export function assertTrainingInput(
  series: Pick<AlignedSeries, 'timestamps' | 'variableStates'>,
  params: Partial<ModelParams>,
  source: string,
): void {
  assertTrainingRows(series.timestamps.length, resolveParams(params), source)
  const empty = series.variableStates.filter((v) => v.effectiveCount === 0).map((v) => `'${v.variable}'`)
  if (empty.length > 0) {
    throw new ServiceError(
      'NoData',
      `${source}: no value at all in the training data for ${empty.join(', ')} (every row would be filled); give such a variable data or leave it out`,
    )
  }
}
