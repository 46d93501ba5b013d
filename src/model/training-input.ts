/**
 * The training-input rules every entry point (CLI, control jobs, REST) and fitModel share: enough rows for one window
 * and a calibration, no variable without a single value, values a model can hold; and the warnings training gives.
 */
import type { AlignedSeries } from '../domain/types.js'
import { ServiceError } from '../errors.js'
import { MAX_ABS_VALUE } from '../data/limits.js'
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

/**
 * The readers refuse values that are not finite or beyond ±MAX_ABS_VALUE; a library caller's rows are held to the
 * same rule here, with the place named, instead of failing deep in an eigendecomposition (NaN) or training a model
 * that cannot be loaded (1e160: its variance overflows).
 */
export function assertModellable(series: AlignedSeries): void {
  series.rows.forEach((row, t) => {
    for (let j = 0; j < row.length; j++) {
      const v = row[j] as number
      if (Number.isFinite(v) && Math.abs(v) <= MAX_ABS_VALUE) continue
      throw new ServiceError(
        'InvalidRequestParameterError',
        `training row ${t}${timeOf(series.timestamps[t])}, variable ` +
          `'${series.variables[j] ?? j}': ${v} is not a finite number within ±${MAX_ABS_VALUE}`,
      )
    }
  })
}

/** Fewest training rows per forecaster weight before a warning: fewer make the calibration optimistic. */
const ROWS_PER_WEIGHT = 20
/** Largest share of a variable's training values that may be filled in before a warning. */
const MAX_FILLED_RATIO = 0.5

/**
 * Training that makes false alarms likely, said to the user rather than found out from a flood of alerts: few rows
 * for the forecaster's weights (even with the leave-one-out calibration, 400 rows of 38 noisy variables flag about
 * half of new normal rows), and variables mostly filled in (a variable with one real value among 400 is a
 * made-up constant, and every later row that reads otherwise is an anomaly).
 */
export function trainingWarnings(series: AlignedSeries, lags: number): string[] {
  const warnings: string[] = []
  const moving = series.variables.filter((_, j) => varies(series.rows, j)).length
  const weights = lags * moving + 1
  const rows = series.rows.length
  if (rows < ROWS_PER_WEIGHT * weights) {
    warnings.push(
      `${rows} training rows for ${moving} varying variables (${weights} forecaster weights with lags ${lags}): ` +
        `expect more false alarms than riskLevel says; train on at least ${ROWS_PER_WEIGHT * weights} rows`,
    )
  }
  const filled = series.variableStates.filter((v) => v.filledNARatio > MAX_FILLED_RATIO)
  if (filled.length > 0) {
    const shown = filled
      .slice(0, 5)
      .map((v) => `${v.variable} (${(100 * v.filledNARatio).toFixed(1)} %)`)
      .join(', ')
    warnings.push(
      `${filled.length} variable${filled.length === 1 ? '' : 's'} filled in for more than ${100 * MAX_FILLED_RATIO} % ` +
        `of the training rows: ${shown}${filled.length > 5 ? ', …' : ''}; the model learns the filled values as ` +
        'normal, so their real readings may all look anomalous',
    )
  }
  return warnings
}

function varies(rows: readonly Float64Array[], j: number): boolean {
  const first = rows[0]?.[j]
  return rows.some((row) => row[j] !== first)
}

const timeOf = (timestamp: number | undefined): string =>
  timestamp !== undefined && Number.isFinite(timestamp) ? ` (${new Date(timestamp).toISOString()})` : ''
