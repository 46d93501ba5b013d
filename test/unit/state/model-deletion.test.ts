import { describe, expect, it } from 'vitest'
import { MemoryBindingStore, type BindingStore } from '../../../src/state/binding-store.js'
import { bindToModel, deleteUnboundModel, DELETE_HOLD_MS, type MarkWait } from '../../../src/state/model-deletion.js'
import { MemoryModelStore, type ModelStore } from '../../../src/state/model-store.js'

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

/**
 * Every interleaving of one bind and one delete of the same model, store call by store call: whatever the order,
 * no entity ends bound to a deleted model, a refused bind leaves the bindings as they were, and both never succeed.
 */
describe('bind racing delete, every interleaving of their store calls', () => {
  type Side = 'bind' | 'delete'

  /** Lets one side make its next store call whenever both wait; `choices` says which, then `bind` first. */
  class Interleaver {
    readonly taken: { side: Side; both: boolean }[] = []
    readonly #waiting = new Map<Side, () => void>()
    readonly #done = new Set<Side>()
    readonly #choices: readonly Side[]

    constructor(choices: readonly Side[]) {
      this.#choices = choices
    }

    step(side: Side): Promise<void> {
      return new Promise((resolve) => {
        this.#waiting.set(side, resolve)
        this.#next()
      })
    }

    finish(side: Side): void {
      this.#done.add(side)
      this.#next()
    }

    #next(): void {
      const open = (['bind', 'delete'] as const).filter((side) => !this.#done.has(side))
      if (open.length === 0 || open.some((side) => !this.#waiting.has(side))) return
      const both = open.length === 2
      const side = both ? (this.#choices[this.taken.length] ?? 'bind') : (open[0] as Side)
      this.taken.push({ side, both })
      const resume = this.#waiting.get(side)
      this.#waiting.delete(side)
      resume?.()
    }
  }

  function gated<T extends object>(store: T, side: Side, interleaver: Interleaver): T {
    return new Proxy(store, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target)
        if (typeof value !== 'function') return value
        return async (...args: unknown[]) => {
          await interleaver.step(side)
          return (value as (...a: unknown[]) => unknown).apply(target, args)
        }
      },
    })
  }

  async function race(choices: readonly Side[]) {
    const { models, bindings } = await stores()
    const interleaver = new Interleaver(choices)
    const settle = async (side: Side, work: () => Promise<unknown>) => {
      try {
        await work()
        return 'ok' as const
      } catch (error) {
        return error as { code?: string }
      } finally {
        interleaver.finish(side)
      }
    }
    const [bound, deleted] = await Promise.all([
      settle('bind', () =>
        bindToModel(
          gated<ModelStore>(models, 'bind', interleaver),
          gated(bindings, 'bind', interleaver),
          { modelId: 'm', version: 1 },
          [
            { entity: 'e1', binding: { modelId: 'm', version: 1 }, previous: { modelId: 'other', version: 1 } },
            { entity: 'e2', binding: { modelId: 'm', version: 1 }, previous: undefined },
          ],
        ),
      ),
      settle('delete', () =>
        deleteUnboundModel(
          gated<ModelStore>(models, 'delete', interleaver),
          gated(bindings, 'delete', interleaver),
          'm',
        ),
      ),
    ])
    return { models, bindings, bound, deleted, taken: interleaver.taken }
  }

  it('keeps every binding on a model that exists, in all of them', async () => {
    const pending: Side[][] = [[]]
    const outcomes = new Map<string, number>()
    let schedules = 0
    while (pending.length > 0) {
      const choices = pending.pop() ?? []
      const { models, bindings, bound, deleted, taken } = await race(choices)
      schedules++
      // Branch wherever both sides waited and this run let the bind go first.
      taken.forEach(({ side, both }, index) => {
        if (index >= choices.length && both && side === 'bind') {
          pending.push([...taken.slice(0, index).map((step) => step.side), 'delete'])
        }
      })
      const ids = new Set(await models.listModelIds())
      const list = await bindings.list()
      for (const { binding } of list) expect(ids.has(binding.modelId)).toBe(true)
      expect(bound === 'ok' && deleted === 'ok').toBe(false)
      if (bound === 'ok') {
        expect(list.map(({ entity, binding }) => [entity, binding.modelId])).toEqual([
          ['e1', 'm'],
          ['e2', 'm'],
        ])
      } else {
        expect(bound.code).toBe('ModelNotExist')
        expect(list).toEqual([{ entity: 'e1', binding: { modelId: 'other', version: 1 } }])
      }
      if (deleted === 'ok') expect(ids.has('m')).toBe(false)
      else expect(deleted.code).toBe('ModelInUse')
      expect(await models.isBeingDeleted('m')).toBe(false)
      const outcome = `bind ${bound === 'ok' ? 'won' : 'lost'}, delete ${deleted === 'ok' ? 'won' : 'lost'}`
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
    }
    // The enumeration reached each possible ending: one side wins, or both lose (the bind undone for a delete that
    // then saw the binding and refused).
    expect([...outcomes.keys()].sort()).toEqual([
      'bind lost, delete lost',
      'bind lost, delete won',
      'bind won, delete lost',
    ])
    expect(schedules).toBeGreaterThan(50)
  })
})
