/**
 * Worker-thread entry of model training, so a training job never blocks the scoring event loop. Receives one
 * TrainTask, posts progress messages, then `done` with the model state and diagnostics, or `error` with a code.
 * The parent terminates the thread to cancel. Started by train-in-worker.ts from the compiled file.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { isServiceError } from '../errors.js'
import { fitModel, tune, type ModelParams, type ModelState } from '../model/index.js'
import type { AlignedSeries } from '../domain/types.js'

export interface TrainTask {
  series: AlignedSeries
  params: Partial<ModelParams>
  /** With labels (one per row), the last `validationFraction` of the rows validate a parameter search. */
  labels?: { labels: number[]; validationFraction: number }
}

export type TrainWorkerMessage =
  | { type: 'progress'; fraction: number; stage: string }
  | { type: 'done'; state: ModelState; diagnostics: unknown }
  | { type: 'error'; code: string; message: string }

function slice(series: AlignedSeries, from: number, to: number): AlignedSeries {
  return {
    variables: series.variables,
    timestamps: series.timestamps.slice(from, to),
    rows: series.rows.slice(from, to),
    variableStates: series.variableStates,
  }
}

export function runTrainTask(task: TrainTask, progress: (fraction: number, stage: string) => void): TrainWorkerMessage {
  try {
    if (task.labels === undefined) {
      const { state, diagnostics } = fitModel(task.series, task.params, { onProgress: progress })
      return { type: 'done', state, diagnostics }
    }
    const n = task.series.rows.length
    const cut = Math.round(n * (1 - task.labels.validationFraction))
    progress(0, 'parameter search')
    const result = tune(
      slice(task.series, 0, cut),
      slice(task.series, cut, n),
      task.labels.labels.slice(cut, n),
      task.params,
    )
    return {
      type: 'done',
      state: result.state,
      diagnostics: { tune: { best: result.best, grid: result.grid, trainRows: cut, validationRows: n - cut } },
    }
  } catch (error) {
    return {
      type: 'error',
      code: isServiceError(error) ? error.code : 'UnexpectedError',
      message: error instanceof Error ? error.message : String(error),
    }
  }
}

if (parentPort !== null) {
  const port = parentPort
  const outcome = runTrainTask(workerData as TrainTask, (fraction, stage) =>
    port.postMessage({ type: 'progress', fraction, stage } satisfies TrainWorkerMessage),
  )
  port.postMessage(outcome)
}
