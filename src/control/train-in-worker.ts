/**
 * Runs a TrainTask on a worker thread and resolves with its outcome. Cancel through the AbortSignal: the thread
 * is terminated at once (training has no side effects to undo). The compiled worker file is used — under the
 * TypeScript sources (tests) it is taken from dist/, so `npm run build` must have run.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { ServiceError } from '../errors.js'
import type { TrainOutcome, TrainTask } from './training-task.js'
import type { TrainWorkerMessage } from './train-worker.js'

function workerScript(): URL {
  const sibling = new URL('./train-worker.js', import.meta.url)
  if (existsSync(fileURLToPath(sibling))) return sibling
  const built = new URL('../../dist/src/control/train-worker.js', import.meta.url)
  if (existsSync(fileURLToPath(built))) return built
  throw new ServiceError('Internal', `training worker not found at ${fileURLToPath(sibling)}: run npm run build`)
}

export function trainInWorker(
  task: TrainTask,
  signal: AbortSignal,
  onProgress: (fraction: number, stage: string) => void,
): Promise<TrainOutcome> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new ServiceError('JobCanceled', 'the job was canceled before training started'))
      return
    }
    const worker = new Worker(workerScript(), { workerData: task })
    let settled = false
    const settle = (fn: () => void): void => {
      if (settled) return
      settled = true
      signal.removeEventListener('abort', onAbort)
      fn()
    }
    const onAbort = (): void => {
      settle(() => reject(new ServiceError('JobCanceled', 'the job was canceled during training')))
      void worker.terminate()
    }
    signal.addEventListener('abort', onAbort)
    worker.on('message', (message: TrainWorkerMessage) => {
      if (message.type === 'progress') onProgress(message.fraction, message.stage)
      else if (message.type === 'done') settle(() => resolve(message.outcome))
      else settle(() => reject(new ServiceError(message.code as 'UnexpectedError', message.message)))
    })
    worker.on('error', (error: Error) =>
      settle(() => reject(new ServiceError('Internal', `training worker failed: ${error.message}`, { cause: error }))),
    )
    worker.on('exit', (code) =>
      settle(() => reject(new ServiceError('Internal', `training worker exited with code ${code} before finishing`))),
    )
  })
}
