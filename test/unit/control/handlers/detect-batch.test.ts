import { describe, expect, it } from 'vitest'
import type { HandlerDeps } from '../../../../src/control/handlers/deps.js'
import { detectBatchHandler } from '../../../../src/control/handlers/detect-batch.js'
import type { JobRecord } from '../../../../src/state/job-store.js'
import { MemoryModelStore } from '../../../../src/state/model-store.js'
import { MemoryResultStore, type BatchResultRecord } from '../../../../src/state/result-store.js'

function setup() {
  const results = new MemoryResultStore()
  const deps = {
    models: new MemoryModelStore(),
    results,
    resultTtlSeconds: 3600,
    reservedTopics: [
      { topic: 'mvad.readings', role: 'readings' },
      { topic: 'mvad.status', role: 'status' },
    ],
  } as unknown as HandlerDeps
  return { results, handler: detectBatchHandler(deps) }
}

const command = (output: object) => ({
  type: 'detect-batch',
  jobId: 'batch-1',
  modelId: 'm',
  source: { kind: 'file', path: '/data/test.csv' },
  startTime: '2024-01-01T00:00:00Z',
  endTime: '2024-01-02T00:00:00Z',
  output,
})

describe('detect-batch handler', () => {
  it("refuses an output.topic that is one of the service's own topics, before anything runs", async () => {
    const { handler, results } = setup()
    await expect(handler.run(command({ topic: 'mvad.readings' }) as never, {} as never)).rejects.toMatchObject({
      code: 'InvalidRequestParameterError',
      message: "output.topic mvad.readings is the service's readings topic; name a topic of its own for the rows",
    })
    expect(await results.get('batch-1')).toBeUndefined()
  })

  it('marks the stored result of an interrupted job FAILED with its errors (it said RUNNING); a finished one stays', async () => {
    const { handler, results } = setup()
    const stored = (resultId: string, status: 'RUNNING' | 'READY'): BatchResultRecord => ({
      resultId,
      modelId: 'm',
      modelVersion: 1,
      summary: { status, errors: [], variableStates: [], setupInfo: {} } as unknown as BatchResultRecord['summary'],
      results: [],
    })
    await results.put(stored('batch-1', 'RUNNING'), 3600)
    await results.put(stored('batch-2', 'READY'), 3600)
    const errors = [{ code: 'JobInterrupted', message: 'the instance running this job stopped' }]
    for (const jobId of ['batch-1', 'batch-2', 'batch-3'])
      await handler.interrupted?.({ jobId, errors } as unknown as JobRecord)
    expect((await results.get('batch-1'))?.summary).toMatchObject({ status: 'FAILED', errors })
    expect((await results.get('batch-2'))?.summary).toMatchObject({ status: 'READY', errors: [] })
    expect(await results.get('batch-3')).toBeUndefined()
  })

  it('refuses a file source outside MVAD_CONTROL_FILE_ROOTS before anything runs', async () => {
    const results = new MemoryResultStore()
    const handler = detectBatchHandler({ models: new MemoryModelStore(), results, fileRoots: ['/srv/data'] } as never)
    await expect(handler.run(command({}) as never, {} as never)).rejects.toMatchObject({
      code: 'InvalidRequestParameterError',
      message:
        'source.path /data/test.csv is outside the folders this service reads command files from (MVAD_CONTROL_FILE_ROOTS)',
    })
    expect(await results.get('batch-1')).toBeUndefined()
  })
})
