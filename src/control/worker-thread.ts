/**
 * The CPU-heavy parts of jobs (training, detect-batch scoring) run on worker threads, so they never block the event
 * loop that scores live data. One protocol for both: the worker posts `progress` messages, then `done` with its
 * result or `error` with a code; the parent terminates the thread to cancel (the work has no side effects to undo).
 * The compiled worker file is used — under the TypeScript sources (tests) it is taken from dist/, so
 * `npm run build` must have run.
 */
import { existsSync } from 'node:fs'
import { setPriority } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Worker, parentPort, workerData } from 'node:worker_threads'
import { ServiceError, isServiceError } from '../errors.js'

export type WorkerMessage<Progress, Result> =
  | { type: 'progress'; progress: Progress }
  | { type: 'done'; result: Result }
  | { type: 'error'; code: string; message: string }

/** The compiled worker script `name` (e.g. 'train-worker.js') of this folder. */
function workerScript(name: string): URL {
  const sibling = new URL(`./${name}`, import.meta.url)
  if (existsSync(fileURLToPath(sibling))) return sibling
  const built = new URL(`../../dist/src/control/${name}`, import.meta.url)
  if (existsSync(fileURLToPath(built))) return built
  throw new ServiceError('Internal', `worker ${name} not found at ${fileURLToPath(sibling)}: run npm run build`)
}

/**
 * Runs worker script `name` (of this folder, or a URL) on `data` and resolves with its result; `what` names the work
 * in errors ("training").
 * Cancel through `signal`: the thread is terminated and the promise rejects with JobCanceled. `transfer`: buffers of
 * `data` moved to the thread instead of copied (they are unusable here afterwards).
 */
export function runInWorker<Progress, Result>(
  name: string | URL,
  data: unknown,
  what: string,
  signal: AbortSignal,
  onProgress: (progress: Progress) => void,
  transfer: readonly ArrayBuffer[] = [],
): Promise<Result> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new ServiceError('JobCanceled', `the job was canceled before ${what} started`))
      return
    }
    const script = typeof name === 'string' ? workerScript(name) : name
    const worker = new Worker(script, { workerData: data, transferList: [...transfer] })
    let settled = false
    const settle = (fn: () => void): void => {
      if (settled) return
      settled = true
      signal.removeEventListener('abort', onAbort)
      fn()
    }
    const onAbort = (): void => {
      settle(() => reject(new ServiceError('JobCanceled', `the job was canceled during ${what}`)))
      void worker.terminate()
    }
    signal.addEventListener('abort', onAbort)
    worker.on('message', (message: WorkerMessage<Progress, Result>) => {
      if (message.type === 'progress') onProgress(message.progress)
      else if (message.type === 'done') settle(() => resolve(message.result))
      else settle(() => reject(new ServiceError(message.code as 'UnexpectedError', message.message)))
    })
    worker.on('error', (error: Error) =>
      settle(() => reject(new ServiceError('Internal', `${what} worker failed: ${error.message}`, { cause: error }))),
    )
    worker.on('exit', (code) =>
      settle(() => reject(new ServiceError('Internal', `${what} worker exited with code ${code} before finishing`))),
    )
  })
}

/** `run` as a WorkerMessage: `done` with its result, or `error` with the ServiceError code (else UnexpectedError). */
export async function workerOutcome<Data, Progress, Result>(
  data: Data,
  run: (data: Data, progress: (progress: Progress) => void) => Promise<Result> | Result,
  progress: (progress: Progress) => void,
): Promise<WorkerMessage<Progress, Result>> {
  try {
    return { type: 'done', result: await run(data, progress) }
  } catch (error) {
    return {
      type: 'error',
      code: isServiceError(error) ? error.code : 'UnexpectedError',
      message: error instanceof Error ? error.message : String(error),
    }
  }
}

/**
 * The worker side: when this module runs on a worker thread, runs `run` on the thread's data and posts progress and
 * the outcome. The thread takes the lowest CPU priority (Linux nice is per thread): on a busy machine the scheduler
 * favours the event loop that scores live data. Not permitted everywhere; then it runs at the default priority.
 */
export async function serveWorker<Data, Progress, Result>(
  run: (data: Data, progress: (progress: Progress) => void) => Promise<Result> | Result,
): Promise<void> {
  if (parentPort === null) return
  const port = parentPort
  try {
    setPriority(19)
  } catch {
    // keep the default priority
  }
  const outcome = await workerOutcome(workerData as Data, run, (progress) =>
    port.postMessage({ type: 'progress', progress } satisfies WorkerMessage<Progress, Result>),
  )
  port.postMessage(outcome)
}
