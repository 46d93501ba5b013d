/**
 * The CPU-heavy part of a detect-batch job, run on a worker thread (score-worker.ts) so the event loop that scores
 * live data is never held by it: reading and aligning a file source, aligning a topic range (fetched by the main
 * thread, which has the Kafka client, and passed in packed), the job's input checks, and scoring the requested
 * rows in mini-batches — posting each mini-batch's results as it finishes. On the main thread one 1,000-row
 * mini-batch of anomalous rows (each interpreted) held the event loop for 0.9 s, and parsing smd's 23.7k-row test
 * file took 0.84 s.
 */
import type { AlignPolicy, AnomalyState } from '../domain/types.js'
import { rangeIndices } from '../data/align.js'
import { assertEnoughInput } from '../data/inference.js'
import { formatIsoTimestamp } from '../data/timestamp.js'
import { ServiceError } from '../errors.js'
import { createScorer, type ModelState } from '../model/index.js'
import { detectBatch, type TrainingTail } from '../pipeline/index.js'
import type { BatchSummary } from '../state/result-store.js'
import { alignTopicRead, loadFileSource, type LoadedSource, type TopicRead } from './sources.js'

export const MAX_BATCH_TIMESTAMPS = 20_000
export const ADVISED_BATCH_POINTS = 150_000

export interface ScoreTask {
  state: ModelState
  /**
   * A file to read (aligned as the model was trained) or a topic range to align (as the stream aligns), with
   * exactly the model's variables; or an already loaded source (a Redis window).
   */
  source:
    | { kind: 'file'; path: string; alignPolicy: AlignPolicy; variables: readonly string[] }
    | { kind: 'topic'; read: TopicRead; alignPolicy: AlignPolicy; variables: readonly string[] }
    | { kind: 'loaded'; loaded: LoadedSource }
  /** Rows of [startTime, endTime] (epoch ms, inclusive) are reported; earlier rows serve as history. */
  startTime: number
  endTime: number
  /** More failed input records than this fails the task (−1 = no limit). */
  errorThreshold: number
  /** Rows per mini-batch (the job's miniBatchSize). */
  chunkRows: number
  slidingWindow: number
  topContributorCount: number
  trainingTail?: TrainingTail
}

/** A step of the task: the share of its work done, and the results of a finished mini-batch (in time order). */
export interface ScoreProgress {
  fraction: number
  results: AnomalyState[]
}

/** What the job records besides the results. */
export interface ScoreOutcome {
  dataSource: string
  failedRecords: LoadedSource['failedRecords']
  variableStates: BatchSummary['variableStates']
  warnings: string[]
  rows: number
}

/** Reading is counted as this share of the task; scoring as the rest. */
const READ_SHARE = 0.2

export async function runScoreTask(task: ScoreTask, progress: (p: ScoreProgress) => void): Promise<ScoreOutcome> {
  const { source } = task
  // As MVAD's batch summary, the variable states describe the detection window, not the history before it.
  const statesRange = { startTime: task.startTime, endTime: task.endTime }
  const loaded =
    source.kind === 'loaded'
      ? source.loaded
      : source.kind === 'topic'
        ? alignTopicRead(source.read, {
            alignPolicy: source.alignPolicy,
            variables: source.variables,
            exactVariables: true,
            statesRange,
          })
        : await loadFileSource(source.path, {
            alignPolicy: source.alignPolicy,
            variables: source.variables,
            exactVariables: true,
            statesRange,
          })
  progress({ fraction: READ_SHARE, results: [] })
  const { series, dataSource, failedRecords } = loaded
  if (task.errorThreshold >= 0 && failedRecords.length > task.errorThreshold) {
    throw new ServiceError(
      'ErrorThresholdExceeded',
      `${failedRecords.length} input records failed (errorThreshold ${task.errorThreshold}); the first: ${JSON.stringify(failedRecords[0])}`,
    )
  }
  assertEnoughInput(series, task.slidingWindow, dataSource)
  const [lo, hi] = rangeIndices(series.timestamps, { startTime: task.startTime, endTime: task.endTime })
  if (hi <= lo) {
    throw new ServiceError(
      'NoData',
      `no data between ${formatIsoTimestamp(task.startTime)} and ${formatIsoTimestamp(task.endTime)} in ${dataSource}`,
    )
  }
  if (hi - lo > MAX_BATCH_TIMESTAMPS) {
    throw new ServiceError(
      'DataExceedsLimit',
      `${hi - lo} timestamps between startTime and endTime; detect-batch takes at most ${MAX_BATCH_TIMESTAMPS}`,
    )
  }
  const warnings: string[] = []
  const points = (hi - lo) * series.variables.length
  if (points > ADVISED_BATCH_POINTS)
    warnings.push(`${points} data points exceed the advised ${ADVISED_BATCH_POINTS} per call`)
  const scorer = createScorer(task.state)
  for (let i = lo; i < hi; i += task.chunkRows) {
    const j = Math.min(hi, i + task.chunkRows)
    const chunk = detectBatch(scorer, series, {
      slidingWindow: task.slidingWindow,
      topContributorCount: task.topContributorCount,
      range: { startTime: series.timestamps[i] as number, endTime: series.timestamps[j - 1] as number },
      ...(task.trainingTail === undefined ? {} : { trainingTail: task.trainingTail }),
    })
    if (i === lo && chunk.trainingTailGapMs !== undefined) {
      // Said, as the CLI says it: rows the training tail would have scored carry InsufficientHistoricalData instead.
      warnings.push(
        `the data starts ${Math.round(chunk.trainingTailGapMs / 60_000)} min after the training data ended, so the model's training tail is not its history: the first rows need ${task.slidingWindow - 1} rows before them in the data`,
      )
    }
    progress({ fraction: READ_SHARE + ((1 - READ_SHARE) * (j - lo)) / (hi - lo), results: chunk.results })
  }
  return {
    dataSource,
    failedRecords,
    variableStates: series.variableStates.map((v) => ({
      ...v,
      firstTimestamp: v.firstTimestamp === null ? null : formatIsoTimestamp(v.firstTimestamp),
      lastTimestamp: v.lastTimestamp === null ? null : formatIsoTimestamp(v.lastTimestamp),
    })),
    warnings,
    rows: hi - lo,
  }
}
