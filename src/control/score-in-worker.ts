/** Runs a ScoreTask on a worker thread (score-worker.ts; protocol and cancellation in worker-thread.ts). */
import type { AnomalyState } from '../domain/types.js'
import type { ScoreProgress, ScoreTask } from './score-task.js'
import { runInWorker } from './worker-thread.js'

/** Resolves with every reported row's result, in time order; `onProgress` gets the share done per mini-batch. */
export async function scoreInWorker(
  task: ScoreTask,
  signal: AbortSignal,
  onProgress: (fraction: number) => void,
): Promise<AnomalyState[]> {
  const results: AnomalyState[] = []
  await runInWorker<ScoreProgress, number>('score-worker.js', task, 'scoring', signal, (p) => {
    for (const result of p.results) results.push(result)
    onProgress(p.fraction)
  })
  return results
}
