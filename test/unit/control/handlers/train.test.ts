import { beforeAll, describe, expect, it } from 'vitest'
import { expectFreshBuild } from '../../../support/built.js'
import { deleteUnderClaim } from '../../../support/delete-under-claim.js'
import type { HandlerDeps } from '../../../../src/control/handlers/deps.js'
import { trainHandler } from '../../../../src/control/handlers/train.js'
import type { JobContext } from '../../../../src/control/job-runner.js'
import { toServiceError } from '../../../../src/errors.js'
import type { JobRecord } from '../../../../src/state/job-store.js'
import { MemoryModelStore, type ModelStore } from '../../../../src/state/model-store.js'

const TRAIN_CSV = new URL('../../../fixtures/cli/train.csv', import.meta.url).pathname

/** A job context as the runner gives one, with `onProgress` told each fraction reported. */
function context(onProgress: (fraction: number) => Promise<void> | void = () => undefined): JobContext {
  const controller = new AbortController()
  return {
    jobId: 'job-t',
    signal: controller.signal,
    progress: async (fraction) => {
      await onProgress(fraction)
    },
    setResult: () => Promise.resolve(),
    throwIfCanceled: () => undefined,
    failureOf: (error) => toServiceError(error, 'UnexpectedError'),
  }
}

const trainFile = (path: string) => ({
  type: 'train' as const,
  jobId: 'job-t',
  modelId: 'm',
  source: { kind: 'file' as const, path },
  slidingWindow: 28,
})

describe('train handler, run', () => {
  beforeAll(() => expectFreshBuild('dist/src/control/train-worker.js')) // training runs on its worker thread
  it('a model deleted while its version trains fails the job with ModelNotExist (the state is not written)', async () => {
    const models = new MemoryModelStore()
    const handler = trainHandler({ models } as unknown as HandlerDeps)
    let deleted = false
    const deleting = context(async (fraction) => {
      if (fraction > 0.3 && !deleted) deleted = (await deleteUnderClaim(models, 'm')) === 'deleted'
    })
    await expect(handler.run(trainFile(TRAIN_CSV), deleting)).rejects.toMatchObject({
      code: 'ModelNotExist',
      message: 'model m was deleted while version 1 trained',
    })
    expect(deleted).toBe(true)
    expect(await models.getInfo('m', 1)).toBeUndefined()
  })

  it('when marking the version FAILED fails too, the job keeps why it failed and says the version was left', async () => {
    /** Redis goes away just as the version is to be marked FAILED. */
    class FailedWriteFails extends MemoryModelStore {
      override updateVersion(
        ...args: Parameters<ModelStore['updateVersion']>
      ): ReturnType<ModelStore['updateVersion']> {
        return args[2].status === 'FAILED' ? Promise.reject(new Error('Redis away')) : super.updateVersion(...args)
      }
    }
    const models = new FailedWriteFails()
    const handler = trainHandler({ models } as unknown as HandlerDeps)
    const missing = '/nonexistent/train.csv'
    await expect(handler.run(trainFile(missing), context())).rejects.toMatchObject({
      code: 'FileNotExist',
      message: expect.stringMatching(
        /^.*\/nonexistent\/train\.csv.* \(model m version 1 could not be marked FAILED: Error: Redis away\)$/,
      ) as unknown,
    })
    expect(await models.getInfo('m', 1)).toMatchObject({ status: 'RUNNING' })
  })
})

describe('train handler, interrupted', () => {
  const errors = [{ code: 'JobInterrupted', message: 'the instance running this job stopped' }]
  const meta = (jobId: string) => ({ variables: ['a'], slidingWindow: 28, jobId })

  it('fails the version the job made, found by its jobId when the job died before recording it', async () => {
    const models = new MemoryModelStore()
    const handler = trainHandler({ models } as unknown as HandlerDeps)
    const other = await models.createVersion('m', meta('other-job'))
    const mine = await models.createVersion('m', meta('job-1')) // the instance died before setResult
    await handler.interrupted?.({ jobId: 'job-1', command: { modelId: 'm' }, errors } as unknown as JobRecord)
    expect(await models.getInfo('m', mine.version)).toMatchObject({ status: 'FAILED', errors })
    expect(await models.getInfo('m', other.version)).toMatchObject({ status: 'CREATED' })
  })

  it('uses the recorded result when there is one, and leaves a READY version alone', async () => {
    const models = new MemoryModelStore()
    const handler = trainHandler({ models } as unknown as HandlerDeps)
    const ready = await models.registerReady('m', '{}', { variables: ['a'], slidingWindow: 28 })
    const result = { modelId: 'm', version: ready.version }
    await handler.interrupted?.({ jobId: 'job-2', command: { modelId: 'm' }, result, errors } as unknown as JobRecord)
    expect(await models.getInfo('m', ready.version)).toMatchObject({ status: 'READY' })
  })
})

describe('train handler, files outside MVAD_CONTROL_FILE_ROOTS', () => {
  const roots = [new URL('../../../fixtures/', import.meta.url).pathname]

  it('refuses a source or a labels file outside the folders before making a version', async () => {
    const models = new MemoryModelStore()
    const handler = trainHandler({ models, fileRoots: roots } as unknown as HandlerDeps)
    await expect(handler.run(trainFile('/etc/hostname'), context())).rejects.toMatchObject({
      code: 'InvalidRequestParameterError',
      message:
        'source.path /etc/hostname is outside the folders this service reads command files from (MVAD_CONTROL_FILE_ROOTS)',
    })
    const labelled = { ...trainFile(TRAIN_CSV), labels: { path: '/etc/passwd' } }
    await expect(handler.run(labelled, context())).rejects.toMatchObject({
      code: 'InvalidRequestParameterError',
      message: expect.stringMatching(/^labels\.path \/etc\/passwd is outside/) as unknown,
    })
    expect(await models.listModelIds()).toEqual([])
  })
})
