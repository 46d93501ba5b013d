/** One bind racing one delete of its model, on every ModelStore and BindingStore implementation (memory and Redis). */
import { describe, expect, it } from 'vitest'
import type { BindingStore } from '../../src/state/binding-store.js'
import { bindToModel, deleteUnboundModel } from '../../src/state/model-deletion.js'
import type { ModelStore } from '../../src/state/model-store.js'

const META = { variables: ['a'], slidingWindow: 28 }

/**
 * Every interleaving of one bind and one delete of the same model, store call by store call: whatever the order,
 * no entity ends bound to a deleted model, a refused bind leaves the bindings as they were, and both never succeed.
 */
export function bindDeleteRaceContract(
  name: string,
  makeStores: () => { models: ModelStore; bindings: BindingStore },
): void {
  describe(`bind racing delete, every interleaving of their store calls: ${name}`, () => {
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
      const { models, bindings } = makeStores()
      await models.registerReady('m', '{}', META)
      await models.registerReady('other', '{}', META)
      await bindings.set('e1', { modelId: 'other', version: 1 })
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
}
