/**
 * Batch detection over an aligned series, shared by the CLI, the REST API and replay: optionally prepend the
 * model's training tail as history, score, and turn each row into an MVAD AnomalyState. Rows the scorer cannot
 * score yet (not enough history) become `InsufficientHistoricalData` results, as MVAD reports them.
 * Pure: the scorer is passed in, so this module does not depend on a particular model.
 */
import type { AlignedSeries, AnomalyState, AnomalyValue, EpochMs } from '../domain/types.js'
import { rangeIndices } from '../data/align.js'
import type { TimeRange } from '../data/table.js'
import { medianStep } from '../data/timestamp.js'

/** What batch detection needs from a model scorer. */
export interface BatchScorer {
  /** One entry per row; `null` = not enough history before that row. Must not mutate `rows`. */
  scoreSeries(rows: readonly Float64Array[], topN?: number): (AnomalyValue | null)[]
}

/** The last training rows, kept in the model so detection right after training has a full window at once. */
export interface TrainingTail {
  rows: readonly ArrayLike<number>[]
  /**
   * Timestamp of the last tail row; the tail is used only if the input continues it: its first row after this one,
   * by no more than MAX_TAIL_GAP_STEPS of the input's own (median) step.
   */
  lastTimestamp: EpochMs
  /** The training data's sampling step (median), to judge the gap by when the input is one row and has none. */
  step?: number
}

/**
 * Largest gap, in the input's median steps (the training data's for a one-row input), between the training tail and
 * the first input row for the tail to count as the input's history (one missing row tolerated). Across a longer gap the tail is not the rows before the
 * input, and the first windows would join two different periods: scores there would be made up.
 */
export const MAX_TAIL_GAP_STEPS = 2

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
  /** Rows scored per call of the scorer; bounds memory and sets how often `onProgress` fires. @defaultValue 4096 */
  chunkRows?: number
  /** Called after each chunk with the share of reported rows done. */
  onProgress?: (fraction: number) => void
}

export interface DetectBatchResult {
  results: AnomalyState[]
  /** Whether the training tail was prepended as history. */
  usedTrainingTail: boolean
  /**
   * Set when a tail was given but not used because the input does not continue it, and reported rows lack history
   * for that: the gap in milliseconds.
   */
  trainingTailGapMs?: number
}

/**
 * Whether data with these timestamps continues a training tail ending at `tailLast`: its first row after it by at
 * most MAX_TAIL_GAP_STEPS of the data's median step, or of the training data's step (`tailStep`) for a single row.
 * A single row with no training step known (a model saved before the step was kept) continues.
 */
export function continuesTail(timestamps: readonly EpochMs[], tailLast: EpochMs, tailStep?: number): boolean {
  const first = timestamps[0]
  if (first === undefined || tailLast >= first) return false
  const step = medianStep(timestamps) ?? tailStep
  return step === undefined || first - tailLast <= MAX_TAIL_GAP_STEPS * step
}

export function detectBatch(
  scorer: BatchScorer,
  series: AlignedSeries,
  options: DetectBatchOptions,
): DetectBatchResult {
  const [lo, hi] = rangeIndices(series.timestamps, options.range)
  if (hi <= lo) return { results: [], usedTrainingTail: false }
  const window = options.slidingWindow
  const chunkRows = Math.max(1, options.chunkRows ?? 4096)
  const firstTimestamp = series.timestamps[0]
  const tail = options.trainingTail
  const width = series.variables.length
  const tailFits =
    tail !== undefined &&
    tail.rows.length > 0 &&
    firstTimestamp !== undefined &&
    tail.lastTimestamp < firstTimestamp &&
    tail.rows.every((r) => r.length === width)
  const gap = tailFits ? firstTimestamp - tail.lastTimestamp : 0
  const tailUsable = tailFits && continuesTail(series.timestamps, tail.lastTimestamp, tail.step)
  // Virtual row index v: v >= 0 is series.rows[v]; v < 0 is the v-th row counted back from the end of the tail.
  const tailRows = tailUsable
    ? tail.rows.slice(Math.max(0, tail.rows.length - window)).map((r) => Float64Array.from(r))
    : []
  const rowAt = (v: number): Float64Array => (v >= 0 ? series.rows[v] : tailRows[tailRows.length + v]) as Float64Array
  const results: AnomalyState[] = []
  let usedTrainingTail = false
  // Scored in chunks, each with `window` rows of history before it: a row's result depends only on its window
  // (MVAD: more history does not change results), so chunking changes nothing but memory and progress granularity.
  for (let start = lo; start < hi; start += chunkRows) {
    const end = Math.min(hi, start + chunkRows)
    const from = Math.max(-tailRows.length, start - window)
    if (from < 0) usedTrainingTail = true
    const rows: Float64Array[] = []
    for (let v = from; v < end; v++) rows.push(rowAt(v))
    const values = scorer.scoreSeries(rows, options.topContributorCount ?? 10)
    for (let i = start; i < end; i++) {
      const timestamp = series.timestamps[i] ?? 0
      const value = values[i - from] ?? null
      results.push(
        value === null ? { timestamp, errors: [{ ...INSUFFICIENT_HISTORY }] } : { timestamp, value, errors: [] },
      )
    }
    options.onProgress?.((end - lo) / (hi - lo))
  }
  // Reported only when it matters: some reported row lacks history the tail would have given.
  const missedTail = tailFits && !tailUsable && lo < window - 1
  return missedTail ? { results, usedTrainingTail, trainingTailGapMs: gap } : { results, usedTrainingTail }
}
