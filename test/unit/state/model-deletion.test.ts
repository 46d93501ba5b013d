import { describe, expect, it } from 'vitest'
import { MemoryBindingStore, type BindingStore } from '../../../src/state/binding-store.js'
import { bindToModel, deleteUnboundModel, DELETE_HOLD_MS, type MarkWait } from '../../../src/state/model-deletion.js'
import { MemoryModelStore } from '../../../src/state/model-store.js'
import { bindDeleteRaceContract } from '../../contracts/model-deletion.contract.js'

const meta = { variables: ['a'], slidingWindow: 28 }

async function stores(now?: () => Date): Promise<{ models: MemoryModelStore; bindings: MemoryBindingStore }> {
  const models = new MemoryModelStore(now)
  const bindings = new MemoryBindingStore()
  await models.registerReady('m', '{}', meta)
  await models.registerReady('other', '{}', meta)
  await bindings.set('e1', { modelId: 'other', version: 1 })
  return { models, bindings }
}

describe('deleteUnboundModel', () => {
  it('deletes a model no entity uses, answers false for one that does not exist, and releases its mark', async () => {
    const { models, bindings } = await stores()
    expect(await deleteUnboundModel(models, bindings, 'm')).toBe(true)
    expect(await models.listModelIds()).toEqual(['other'])
    expect(await deleteUnboundModel(models, bindings, 'm')).toBe(false)
    expect(await models.isBeingDeleted('m')).toBe(false)
  })

  it('refuses with ModelInUse a model an entity uses as its default or its shadow, and releases its mark', async () => {
    const { models, bindings } = await stores()
    await bindings.set('e2', { modelId: 'other', shadow: { modelId: 'm' } })
    await expect(deleteUnboundModel(models, bindings, 'other')).rejects.toMatchObject({
      code: 'ModelInUse',
      message: 'model other is deployed to e1, e2; deploy another model there first',
    })
    await expect(deleteUnboundModel(models, bindings, 'm')).rejects.toMatchObject({ code: 'ModelInUse' })
    expect(await models.listModelIds()).toEqual(['m', 'other'])
    expect(await models.isBeingDeleted('m')).toBe(false)
    expect(await models.isBeingDeleted('other')).toBe(false)
  })

  it('waits for another delete of the same model to end, and gives up with a retriable ModelInUse', async () => {
    const { models, bindings } = await stores()
    let clock = 0
    const other = await models.beginDelete('m', DELETE_HOLD_MS)
    let polls = 0
    const wait: MarkWait = {
      timeoutMs: 1_000,
      pollMs: 100,
      now: () => clock,
      sleep: async (ms) => {
        clock += ms
        if (++polls === 3) await models.endDelete('m', other ?? '')
      },
    }
    expect(await deleteUnboundModel(models, bindings, 'm', wait)).toBe(true)
    expect(polls).toBe(3)

    await models.registerReady('m', '{}', meta)
    await models.beginDelete('m', DELETE_HOLD_MS)
    clock = 0
    polls = -100 // the other delete never ends
    await expect(deleteUnboundModel(models, bindings, 'm', wait)).rejects.toMatchObject({
      code: 'ModelInUse',
      retriable: true,
      message: 'model m is being deleted by another request; try again',
    })
    expect(clock).toBe(1_000)
    expect(await models.listModelIds()).toContain('m')
  })

  it('deletes nothing when it outlasted its hold (a deploy may have bound the model since): retriable RedisError', async () => {
    let now = 0
    const { models, bindings } = await stores(() => new Date(now))
    const slowBindings: BindingStore = Object.assign(Object.create(bindings) as BindingStore, {
      list: async () => {
        now += DELETE_HOLD_MS + 1
        return bindings.list()
      },
    })
    await expect(deleteUnboundModel(models, slowBindings, 'm')).rejects.toMatchObject({
      code: 'RedisError',
      retriable: true,
    })
    expect(await models.listModelIds()).toContain('m')
  })
})

describe('bindToModel', () => {
  it('writes the bindings when the model stays', async () => {
    const { models, bindings } = await stores()
    await bindToModel(models, bindings, { modelId: 'm', version: 1 }, [
      { entity: 'e1', binding: { modelId: 'm', version: 1 }, previous: { modelId: 'other', version: 1 } },
      { entity: 'e2', binding: { modelId: 'm', version: 1 }, previous: undefined },
    ])
    expect(await bindings.list()).toEqual([
      { entity: 'e1', binding: { modelId: 'm', version: 1 } },
      { entity: 'e2', binding: { modelId: 'm', version: 1 } },
    ])
  })

  it('refuses a model under a delete mark before writing anything', async () => {
    const { models, bindings } = await stores()
    await models.beginDelete('m', DELETE_HOLD_MS)
    let writes = 0
    bindings.subscribe(() => writes++).catch(() => undefined)
    await expect(
      bindToModel(models, bindings, { modelId: 'm' }, [
        { entity: 'e2', binding: { modelId: 'm' }, previous: undefined },
      ]),
    ).rejects.toMatchObject({ code: 'ModelNotExist', message: expect.stringContaining('is being deleted') as unknown })
    expect(writes).toBe(0)
  })
})

bindDeleteRaceContract('memory', () => ({ models: new MemoryModelStore(), bindings: new MemoryBindingStore() }))
