/**
 * The CPU-heavy part of a detect-batch job: scoring the requested rows in mini-batches. Runs on a worker thread
 * (score-worker.ts) so that neither a long range nor a range full of anomalies (each one interpreted) blocks the
 * event loop that scores live data; posts each mini-batch's results as it finishes.
 */
import type { AlignedSeries, AnomalyState } from '../domain/types.js'
import { createScorer, type ModelState } from '../model/index.js'
import { detectBatch, type TrainingTail } from '../pipeline/index.js'

export interface ScoreTask {
  state: ModelState
  series: AlignedSeries
  /** Rows lo ≤ i < hi of the series are reported; earlier rows (and the training tail) are history. */
  lo: number
  hi: number
  /** Rows per mini-batch (the job's miniBatchSize). */
  chunkRows: number
  slidingWindow: number
  topContributorCount: number
  trainingTail?: TrainingTail
}

/** One mini-batch done: its results, in time order, and the share of the reported rows done so far. */
export interface ScoreProgress {
  results: AnomalyState[]
  fraction: number
}

/** Scores the task's rows mini-batch by mini-batch; resolves with the number of rows reported. */
export function runScoreTask(task: ScoreTask, progress: (p: ScoreProgress) => void): number {
  const { series, lo, hi } = task
  const scorer = createScorer(task.state)
  for (let i = lo; i < hi; i += task.chunkRows) {
    const j = Math.min(hi, i + task.chunkRows)
    const chunk = detectBatch(scorer, series, {
      slidingWindow: task.slidingWindow,
      topContributorCount: task.topContributorCount,
      range: { startTime: series.timestamps[i] as number, endTime: series.timestamps[j - 1] as number },
      ...(task.trainingTail === undefined ? {} : { trainingTail: task.trainingTail }),
    })
    progress({ results: chunk.results, fraction: (j - lo) / (hi - lo) })
  }
  return hi - lo
}
