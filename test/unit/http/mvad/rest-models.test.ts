import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ReadyModelCache } from '../../../../src/http/mvad/model-cache.js'
import { detectLastModel, trainJobId } from '../../../../src/http/mvad/rest-models.js'
import { MemoryJobStore } from '../../../../src/state/job-store.js'
import { MemoryModelStore, type ModelStore } from '../../../../src/state/model-store.js'
import { deleteUnderClaim } from '../../../support/delete-under-claim.js'

const GOLDEN = JSON.parse(
  readFileSync(new URL('../../../fixtures/model/golden-state-v5.json', import.meta.url), 'utf8'),
) as { state: { payload: { variables: string[] } } }
const STATE = JSON.stringify(GOLDEN.state)
const META = { variables: GOLDEN.state.payload.variables, slidingWindow: 28 }

/** A MemoryModelStore that counts the state reads (what a cache hit saves). */
function countingStore(): { models: ModelStore; stateReads: () => number } {
  const models = new MemoryModelStore()
  let reads = 0
  const getReadyState = models.getReadyState.bind(models)
  models.getReadyState = (modelId, version) => {
    reads++
    return getReadyState(modelId, version)
  }
  return { models, stateReads: () => reads }
}

describe('detectLastModel', () => {
  it('parses the latest READY version once, then serves it from the cache until a newer one is READY', async () => {
    const { models, stateReads } = countingStore()
    const deps = { models, jobs: new MemoryJobStore(), modelCache: new ReadyModelCache(1024 * 1024) }
    await models.registerReady('m', STATE, META)
    const first = await detectLastModel(deps, 'm')
    expect(first.variables).toEqual(META.variables)
    expect(await detectLastModel(deps, 'm')).toBe(first)
    expect(stateReads()).toBe(1)
    await models.createVersion('m', META) // training: the READY version 1 still serves
    expect(await detectLastModel(deps, 'm')).toBe(first)
    await models.registerReady('m', STATE, META)
    const second = await detectLastModel(deps, 'm')
    expect(second).not.toBe(first)
    expect(stateReads()).toBe(2)
  })

  it('answers a deleted model ModelNotExist although the cache still holds it, and a queued REST model ModelNotReady', async () => {
    const models = new MemoryModelStore()
    const jobs = new MemoryJobStore()
    const deps = { models, jobs, modelCache: new ReadyModelCache(1024 * 1024) }
    await models.registerReady('m', STATE, META)
    await detectLastModel(deps, 'm')
    await deleteUnderClaim(models, 'm')
    await expect(detectLastModel(deps, 'm')).rejects.toMatchObject({ code: 'ModelNotExist' })
    const queued = '66666666-6666-4666-8666-666666666666'
    const command = { type: 'train', jobId: trainJobId(queued), modelId: queued, source: { kind: 'file', path: '/x' } }
    await jobs.create(trainJobId(queued), 'train', command, new Date())
    await expect(detectLastModel(deps, queued)).rejects.toMatchObject({ code: 'ModelNotReady' })
  })

  it('parses the state on every request without a cache', async () => {
    const { models, stateReads } = countingStore()
    await models.registerReady('m', STATE, META)
    const deps = { models, jobs: new MemoryJobStore() }
    expect(await detectLastModel(deps, 'm')).not.toBe(await detectLastModel(deps, 'm'))
    expect(stateReads()).toBe(2)
  })
})
