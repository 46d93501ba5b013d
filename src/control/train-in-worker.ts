/** Runs a TrainTask on a worker thread (train-worker.ts; protocol and cancellation in worker-thread.ts). */
import type { TrainProgress } from './train-worker.js'
import type { TrainOutcome, TrainTask } from './training-task.js'
import { runInWorker } from './worker-thread.js'

export function trainInWorker(
  task: TrainTask,
  signal: AbortSignal,
  onProgress: (fraction: number, stage: string) => void,
): Promise<TrainOutcome> {
  return runInWorker<TrainProgress, TrainOutcome>('train-worker.js', task, 'training', signal, (p) =>
    onProgress(p.fraction, p.stage),
  )
}
