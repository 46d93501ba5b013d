/** Runs a TrainTask on a worker thread (train-worker.ts; protocol and cancellation in worker-thread.ts). */
import type { TrainProgress } from './train-worker.js'
import type { TrainOutcome, TrainTask } from './training-task.js'
import { packedBuffers } from './readings-series.js'
import { runInWorker } from './worker-thread.js'

/** A topic range's readings are moved to the thread, not copied: the task's read is unusable here afterwards. */
export function trainInWorker(
  task: TrainTask,
  signal: AbortSignal,
  onProgress: (fraction: number, stage: string) => void,
): Promise<TrainOutcome> {
  const transfer = task.input.kind === 'topic' ? packedBuffers(task.input.read.readings) : []
  return runInWorker<TrainProgress, TrainOutcome>(
    'train-worker.js',
    task,
    'training',
    signal,
    (p) => onProgress(p.fraction, p.stage),
    transfer,
  )
}
