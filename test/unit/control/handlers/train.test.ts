import { describe, expect, it } from 'vitest'
import type { HandlerDeps } from '../../../../src/control/handlers/deps.js'
import { trainHandler } from '../../../../src/control/handlers/train.js'
import type { JobRecord } from '../../../../src/state/job-store.js'
import { MemoryModelStore } from '../../../../src/state/model-store.js'

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
