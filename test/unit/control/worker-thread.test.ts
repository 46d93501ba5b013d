import { describe, expect, it } from 'vitest'
import { runInWorker } from '../../../src/control/worker-thread.js'

/** A worker made of `source` (an ES module with worker_threads' parentPort and workerData in scope). */
const worker = (source: string): URL =>
  new URL(
    `data:text/javascript,${encodeURIComponent(`import { parentPort, workerData } from 'node:worker_threads'\n${source}`)}`,
  )

const run = (source: string, signal = new AbortController().signal, progress: unknown[] = []) =>
  runInWorker<unknown, unknown>(worker(source), { n: 2 }, 'training', signal, (p) => progress.push(p))

describe('runInWorker', () => {
  it('resolves with the worker result and passes its progress on', async () => {
    const progress: unknown[] = []
    const source = `parentPort.postMessage({ type: 'progress', progress: 0.5 })
      parentPort.postMessage({ type: 'done', result: workerData.n * 21 })`
    await expect(run(source, undefined, progress)).resolves.toBe(42)
    expect(progress).toEqual([0.5])
  })

  it("rejects with the worker's coded error", async () => {
    await expect(
      run(`parentPort.postMessage({ type: 'error', code: 'NotEnoughInput', message: 'too few rows' })`),
    ).rejects.toMatchObject({ code: 'NotEnoughInput', message: 'too few rows' })
  })

  it('a worker that dies (exit, uncaught error) fails the job with Internal instead of leaving it waiting', async () => {
    await expect(run('process.exit(3)')).rejects.toMatchObject({
      code: 'Internal',
      message: 'training worker exited with code 3 before finishing',
    })
    await expect(run(`throw new Error('out of luck')`)).rejects.toMatchObject({
      code: 'Internal',
      message: 'training worker failed: out of luck',
    })
    await expect(run('// posts nothing and ends')).rejects.toMatchObject({
      code: 'Internal',
      message: 'training worker exited with code 0 before finishing',
    })
  })

  it('a cancel terminates the thread and rejects with JobCanceled', async () => {
    const controller = new AbortController()
    const pending = run('setInterval(() => {}, 1000)', controller.signal)
    setTimeout(() => controller.abort(), 50)
    await expect(pending).rejects.toMatchObject({
      code: 'JobCanceled',
      message: 'the job was canceled during training',
    })
    controller.abort()
    await expect(run('', controller.signal)).rejects.toMatchObject({ code: 'JobCanceled' })
  })
})
