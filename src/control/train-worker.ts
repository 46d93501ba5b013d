/**
 * Worker-thread entry of model training, so a training job never blocks the scoring event loop. Receives one
 * TrainTask (training-task.ts), posts progress messages, then `done` with the outcome, or `error` with a code.
 * The parent terminates the thread to cancel. Started by train-in-worker.ts from the compiled file.
 */
import { setPriority } from 'node:os'
import { parentPort, workerData } from 'node:worker_threads'
import { isServiceError } from '../errors.js'
import { runTrainTask, type TrainOutcome, type TrainTask } from './training-task.js'

export type TrainWorkerMessage =
  | { type: 'progress'; fraction: number; stage: string }
  | { type: 'done'; outcome: TrainOutcome }
  | { type: 'error'; code: string; message: string }

export async function trainWorkerMessage(
  task: TrainTask,
  progress: (fraction: number, stage: string) => void,
): Promise<TrainWorkerMessage> {
  try {
    return { type: 'done', outcome: await runTrainTask(task, progress) }
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
  // Lowest CPU priority for this thread only (Linux nice is per thread): on a busy machine the scheduler favours the
  // event loop that scores live data, and training takes what is left. Not permitted everywhere; then it just runs.
  try {
    setPriority(19)
  } catch {
    // keep the default priority
  }
  const outcome = await trainWorkerMessage(workerData as TrainTask, (fraction, stage) =>
    port.postMessage({ type: 'progress', fraction, stage } satisfies TrainWorkerMessage),
  )
  port.postMessage(outcome)
}
