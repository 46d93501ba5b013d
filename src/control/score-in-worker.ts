/** Runs a ScoreTask on a worker thread (score-worker.ts; protocol and cancellation in worker-thread.ts). */
import type { AnomalyState } from '../domain/types.js'
import type { ScoreOutcome, ScoreProgress, ScoreTask } from './score-task.js'
import { packedBuffers } from './readings-series.js'
import { runInWorker } from './worker-thread.js'

/**
 * Resolves with the outcome and every reported row's result, in time order; `onProgress` gets the share done.
 * A topic range's readings are moved to the thread, not copied: the task's read is unusable here afterwards.
 */
export async function scoreInWorker(
  task: ScoreTask,
  signal: AbortSignal,
  onProgress: (fraction: number) => void,
): Promise<ScoreOutcome & { results: AnomalyState[] }> {
  const results: AnomalyState[] = []
  const transfer = task.source.kind === 'topic' ? packedBuffers(task.source.read.readings) : []
  const outcome = await runInWorker<ScoreProgress, ScoreOutcome>(
    'score-worker.js',
    task,
    'scoring',
    signal,
    (p) => {
      for (const result of p.results) results.push(result)
      onProgress(p.fraction)
    },
    transfer,
  )
  return { ...outcome, results }
}
