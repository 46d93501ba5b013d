import { afterEach, describe, expect, it, vi } from 'vitest'
import { MemoryBindingStore, type BindingStore } from '../../../src/state/binding-store.js'
import { bindToModels, CLAIM_HOLD_MS, deleteUnboundModel, type ClaimWait } from '../../../src/state/model-deletion.js'
import { MemoryModelStore, type ModelStore } from '../../../src/state/model-store.js'
import { bindDeleteRaceContract } from '../../contracts/model-deletion.contract.js'

const meta = { variables: ['a'], slidingWindow: 28 }

async function stores(now?: () => Date): Promise<{ models: MemoryModelStore; bindings: MemoryBindingStore }> {
  const models = new MemoryModelStore(now)
  const bindings = new MemoryBindingStore(models) // its fenced writes read the model store's bind claims
  await models.registerReady('m', '{}', meta)
  await models.registerReady('other', '{}', meta)
  await bindings.set('e1', { modelId: 'other', version: 1 })
  return { models, bindings }
}

/** `store` with `method` replaced (the others still reach it, bound to it: the stores keep private fields). */
function withMethod<T extends object, K extends keyof T>(store: T, method: K, replacement: T[K]): T {
  return new Proxy(store, {
    get(target, property) {
      if (property === method) return replacement
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
}

afterEach(() => {
  vi.useRealTimers()
})

describe('deleteUnboundModel', () => {
  it('deletes a model no entity uses, answers false for one that does not exist, and releases its claim', async () => {
    const { models, bindings } = await stores()
    expect(await deleteUnboundModel(models, bindings, 'm')).toBe(true)
    expect(await models.listModelIds()).toEqual(['other'])
    expect(await deleteUnboundModel(models, bindings, 'm')).toBe(false)
    expect(await models.isClaimed('m', 'delete')).toBe(false)
  })

  it('refuses with ModelInUse a model an entity uses as its default or its shadow, and releases its claim', async () => {
    const { models, bindings } = await stores()
    await bindings.set('e2', { modelId: 'other', shadow: { modelId: 'm' } })
    await expect(deleteUnboundModel(models, bindings, 'other')).rejects.toMatchObject({
      code: 'ModelInUse',
      message: 'model other is deployed to e1, e2; deploy another model there first',
    })
    await expect(deleteUnboundModel(models, bindings, 'm')).rejects.toMatchObject({ code: 'ModelInUse' })
    expect(await models.listModelIds()).toEqual(['m', 'other'])
    expect(await models.isClaimed('m', 'delete')).toBe(false)
    expect(await models.isClaimed('other', 'delete')).toBe(false)
  })

  it('refuses a model while a bind to it is under way (retriable ModelInUse)', async () => {
    const { models, bindings } = await stores()
    const bind = (await models.claim('m', 'bind', CLAIM_HOLD_MS)) ?? ''
    await expect(deleteUnboundModel(models, bindings, 'm')).rejects.toMatchObject({
      code: 'ModelInUse',
      retriable: true,
      message: 'model m is being deployed by another request; try again',
    })
    await models.releaseClaim('m', 'bind', bind)
    expect(await deleteUnboundModel(models, bindings, 'm')).toBe(true)
  })

  it('waits for another delete of the same model to end, and gives up with a retriable ModelInUse', async () => {
    const { models, bindings } = await stores()
    let clock = 0
    const other = (await models.claim('m', 'delete', CLAIM_HOLD_MS)) ?? ''
    let polls = 0
    const wait: ClaimWait = {
      timeoutMs: 1_000,
      pollMs: 100,
      now: () => clock,
      sleep: async (ms) => {
        clock += ms
        if (++polls === 3) await models.releaseClaim('m', 'delete', other)
      },
    }
    expect(await deleteUnboundModel(models, bindings, 'm', wait)).toBe(true)
    expect(polls).toBe(3)

    await models.registerReady('m', '{}', meta)
    await models.claim('m', 'delete', CLAIM_HOLD_MS)
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

  it('keeps its claim through a long listing of the bindings, by renewing it', async () => {
    vi.useFakeTimers() // MemoryModelStore reads Date, which fake timers move too
    const { models, bindings } = await stores()
    const slowBindings = withMethod<BindingStore, 'list'>(bindings, 'list', async () => {
      await vi.advanceTimersByTimeAsync(3 * CLAIM_HOLD_MS) // e.g. 100,000 entities on a slow Redis
      return bindings.list()
    })
    expect(await deleteUnboundModel(models, slowBindings, 'm')).toBe(true)
  })

  it('deletes nothing when its claim ended before the delete (a bind may have come): retriable RedisError', async () => {
    const { models, bindings } = await stores()
    const lapsing = withMethod<ModelStore, 'deleteModel'>(models, 'deleteModel', async (modelId, token) => {
      await models.releaseClaim(modelId, 'delete', token) // as if Redis had let it expire
      return models.deleteModel(modelId, token)
    })
    await expect(deleteUnboundModel(lapsing, bindings, 'm')).rejects.toMatchObject({
      code: 'RedisError',
      retriable: true,
    })
    expect(await models.listModelIds()).toContain('m')
  })

  it('answers what it did even when releasing its claim fails (the claim ends with its hold)', async () => {
    const { models, bindings } = await stores()
    const failingRelease = withMethod<ModelStore, 'releaseClaim'>(models, 'releaseClaim', () =>
      Promise.reject(new Error('Redis away')),
    )
    expect(await deleteUnboundModel(failingRelease, bindings, 'm')).toBe(true)
    await expect(deleteUnboundModel(failingRelease, bindings, 'other')).rejects.toMatchObject({ code: 'ModelInUse' })
  })
})

describe('bindToModels', () => {
  it('writes the bindings when every model they name is servable, and lets its claims go', async () => {
    const { models, bindings } = await stores()
    await bindToModels(models, bindings, [
      { entity: 'e1', binding: { modelId: 'm', version: 1, shadow: { modelId: 'other' } } },
      { entity: 'e2', binding: { modelId: 'm', version: 1 } },
    ])
    expect(await bindings.list()).toEqual([
      { entity: 'e1', binding: { modelId: 'm', version: 1, shadow: { modelId: 'other' } } },
      { entity: 'e2', binding: { modelId: 'm', version: 1 } },
    ])
    expect([await models.isClaimed('m', 'bind'), await models.isClaimed('other', 'bind')]).toEqual([false, false])
  })

  it.each([
    ['the default model', { modelId: 'm' }],
    ['the shadow model', { modelId: 'other', shadow: { modelId: 'm' } }],
  ])('writes nothing while %s is being deleted (retriable ModelInUse)', async (_what, binding) => {
    const { models, bindings } = await stores()
    await models.claim('m', 'delete', CLAIM_HOLD_MS)
    const before = await bindings.list()
    await expect(bindToModels(models, bindings, [{ entity: 'e2', binding }])).rejects.toMatchObject({
      code: 'ModelInUse',
      retriable: true,
      message: expect.stringContaining('model m is being deleted by another request; nothing was bound') as unknown,
    })
    expect(await bindings.list()).toEqual(before)
    expect(await models.isClaimed('m', 'bind')).toBe(false)
  })

  it('writes nothing when a model it names is no longer servable (ModelNotExist)', async () => {
    const { models, bindings } = await stores()
    const before = await bindings.list()
    await expect(
      bindToModels(models, bindings, [{ entity: 'e2', binding: { modelId: 'm', version: 2 } }]),
    ).rejects.toMatchObject({
      code: 'ModelNotExist',
      message: expect.stringContaining('version 2 is not READY') as unknown,
    })
    await models.createVersion('gone', meta) // a version, but none READY
    await expect(
      bindToModels(models, bindings, [{ entity: 'e2', binding: { modelId: 'gone' } }]),
    ).rejects.toMatchObject({
      code: 'ModelNotExist',
      message: expect.stringContaining('has no READY version') as unknown,
    })
    expect(await bindings.list()).toEqual(before)
  })

  describe('when its claims lapse while it writes (Redis away, or the process stalled, for a whole hold)', () => {
    /** A bind of e2 and e3 to m whose second write stalls past the claim's hold; `meanwhile` runs in the stall. */
    async function stalledBind(meanwhile: (models: MemoryModelStore, bindings: BindingStore) => Promise<unknown>) {
      let now = 0
      const { models, bindings } = await stores(() => new Date(now))
      const stalling = withMethod<BindingStore, 'setFenced'>(bindings, 'setFenced', async (entity, binding, fence) => {
        if (entity === 'e3') {
          now += CLAIM_HOLD_MS + 1
          await meanwhile(models, bindings)
        }
        return bindings.setFenced(entity, binding, fence)
      })
      const bound = bindToModels(models, stalling, [
        { entity: 'e2', binding: { modelId: 'm' } },
        { entity: 'e3', binding: { modelId: 'm' } },
      ])
      return { bound, models, bindings }
    }

    it('writes nothing more, and says what it wrote (retriable RedisError)', async () => {
      const { bound, bindings } = await stalledBind(() => Promise.resolve())
      await expect(bound).rejects.toMatchObject({
        code: 'RedisError',
        retriable: true,
        message: expect.stringMatching(/lapsed .*: only e2 were bound; deploy again$/) as unknown,
      })
      expect((await bindings.list()).map((x) => x.entity)).toEqual(['e1', 'e2'])
    })

    it('cannot bind a model a delete removed meanwhile; what it wrote before, the delete saw', async () => {
      const { bound, models, bindings } = await stalledBind(async (m, b) => {
        // The claim has lapsed, but e2's binding is there: this delete refuses …
        await expect(deleteUnboundModel(m, b, 'm')).rejects.toMatchObject({ code: 'ModelInUse' })
        // … and once e2 is moved away, the next one goes ahead.
        await b.set('e2', { modelId: 'other' })
        expect(await deleteUnboundModel(m, b, 'm')).toBe(true)
      })
      await expect(bound).rejects.toMatchObject({ code: 'RedisError' })
      expect(await models.listModelIds()).toEqual(['other'])
      expect(await bindings.get('e3')).toBeUndefined() // the late write did not land
    })
  })

  it('keeps its claims through long writes, by renewing them: a delete meanwhile is refused', async () => {
    vi.useFakeTimers() // MemoryModelStore reads Date, which fake timers move too
    const { models, bindings } = await stores()
    let deleteMeanwhile: unknown
    const slow = withMethod<BindingStore, 'setFenced'>(bindings, 'setFenced', async (entity, binding, fence) => {
      await vi.advanceTimersByTimeAsync(2 * CLAIM_HOLD_MS) // e.g. 100,000 entities on a slow Redis
      deleteMeanwhile ??= await deleteUnboundModel(models, bindings, 'm').catch((e: { code: string }) => e.code)
      return bindings.setFenced(entity, binding, fence)
    })
    await bindToModels(models, slow, [{ entity: 'e2', binding: { modelId: 'm' } }])
    expect(deleteMeanwhile).toBe('ModelInUse')
    expect(await bindings.get('e2')).toEqual({ modelId: 'm' })
  })

  it('lets its claims go when a write fails midway', async () => {
    const { models, bindings } = await stores()
    let writes = 0
    const failing = withMethod<BindingStore, 'setFenced'>(bindings, 'setFenced', (entity, binding, fence) =>
      ++writes === 2 ? Promise.reject(new Error('Redis away')) : bindings.setFenced(entity, binding, fence),
    )
    await expect(
      bindToModels(models, failing, [
        { entity: 'e2', binding: { modelId: 'm' } },
        { entity: 'e3', binding: { modelId: 'm' } },
      ]),
    ).rejects.toThrow('Redis away')
    expect(await models.isClaimed('m', 'bind')).toBe(false)
    expect(await deleteUnboundModel(models, bindings, 'm').catch((e: { code: string }) => e.code)).toBe('ModelInUse')
  })
})

bindDeleteRaceContract('memory', () => {
  const models = new MemoryModelStore()
  return { models, bindings: new MemoryBindingStore(models) }
})
