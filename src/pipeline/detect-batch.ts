/**
 * Batch detection over an aligned series, shared by the CLI, the REST API and replay: optionally prepend the
 * model's training tail as history, score, and turn each row into an MVAD AnomalyState. Rows the scorer cannot
 * score yet (not enough history) become `InsufficientHistoricalData` results, as MVAD reports them.
 * Pure: the scorer is passed in, so this module does not depend on a particular model.
 */
import type { AlignedSeries, AnomalyState, AnomalyValue, EpochMs } from '../domain/types.js'
import { rangeIndices } from '../data/align.js'
import type { TimeRange } from '../data/table.js'

/** What batch detection needs from a model scorer. */
export interface BatchScorer {
  /** One entry per row; `null` = not enough history before that row. Must not mutate `rows`. */
  scoreSeries(rows: readonly Float64Array[], topN?: number): (AnomalyValue | null)[]
}

/** The last training rows, kept in the model so detection right after training has a full window at once. */
export interface TrainingTail {
  rows: readonly ArrayLike<number>[]
  /** Timestamp of the last tail row; the tail is used only if it is before the first input row. */
  lastTimestamp: EpochMs
}

export const INSUFFICIENT_HISTORY = Object.freeze({
  code: 'InsufficientHistoricalData',
  message: 'historical data is not enough.',
})

/** Options of {@link detectBatch}. */
export interface DetectBatchOptions {
  /** Rows of history the model needs before a row (MVAD: the sliding window). Rows earlier than that are not scored. */
  slidingWindow: number
  /** Contributors per anomalous row. @defaultValue 10 */
  topContributorCount?: number
  /** Only report rows in this inclusive range; earlier rows serve as history. @defaultValue every row */
  range?: TimeRange
  /** History to prepend (see {@link TrainingTail}). */
  trainingTail?: TrainingTail
}

export interface DetectBatchResult {
  results: AnomalyState[]
  /** Whether the training tail was prepended as history. */
  usedTrainingTail: boolean
}

export function detectBatch(
  scorer: BatchScorer,
  series: AlignedSeries,
  options: DetectBatchOptions,
): DetectBatchResult {
  const [lo, hi] = rangeIndices(series.timestamps, options.range)
  if (hi <= lo) return { results: [], usedTrainingTail: false }
  const firstTimestamp = series.timestamps[0]
  const tail = options.trainingTail
  const width = series.variables.length
  const usedTrainingTail =
    tail !== undefined &&
    tail.rows.length > 0 &&
    firstTimestamp !== undefined &&
    tail.lastTimestamp < firstTimestamp &&
    tail.rows.every((r) => r.length === width)
  // Only the history the model can use is passed: more does not change MVAD results and would cost scoring time.
  const historyFromSeries = Math.min(lo, options.slidingWindow)
  const historyFromTail = usedTrainingTail ? Math.min(tail.rows.length, options.slidingWindow - historyFromSeries) : 0
  const rows: Float64Array[] = []
  if (usedTrainingTail) {
    for (const r of tail.rows.slice(tail.rows.length - historyFromTail)) rows.push(Float64Array.from(r))
  }
  for (let i = lo - historyFromSeries; i < hi; i++) rows.push(series.rows[i] as Float64Array)
  const values = scorer.scoreSeries(rows, options.topContributorCount ?? 10)
  const offset = historyFromTail + historyFromSeries
  const results: AnomalyState[] = []
  for (let i = lo; i < hi; i++) {
    const timestamp = series.timestamps[i] ?? 0
    const value = values[offset + i - lo] ?? null
    results.push(
      value === null ? { timestamp, errors: [{ ...INSUFFICIENT_HISTORY }] } : { timestamp, value, errors: [] },
    )
  }
  return { results, usedTrainingTail }
}
