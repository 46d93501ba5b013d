/** One bind racing one delete of its model, on every ModelStore and BindingStore implementation (memory and Redis). */
import { describe, expect, it } from 'vitest'
import type { BindingStore } from '../../src/state/binding-store.js'
import type { ModelBinding } from '../../src/state/binding-store.js'
import { bindToModels, deleteUnboundModel } from '../../src/state/model-deletion.js'
import type { ModelStore } from '../../src/state/model-store.js'

const META = { variables: ['a'], slidingWindow: 28 }

/** A bind of entities and the model a delete removes meanwhile (one the bindings name). */
interface RaceCase {
  name: string
  changes: { entity: string; binding: ModelBinding }[]
  deleted: string
}

const CASES: RaceCase[] = [
  {
    name: 'two entities to a pinned version',
    changes: [
      { entity: 'e1', binding: { modelId: 'm', version: 1 } },
      { entity: 'e2', binding: { modelId: 'm', version: 1 } },
    ],
    deleted: 'm',
  },
  {
    name: 'an entity to the latest READY version',
    changes: [{ entity: 'e2', binding: { modelId: 'm' } }],
    deleted: 'm',
  },
  {
    name: 'a new default beside a shadow the delete removes',
    changes: [{ entity: 'e1', binding: { modelId: 'm', version: 1, shadow: { modelId: 'spare', version: 1 } } }],
    deleted: 'spare',
  },
]

/**
 * Every interleaving of one bind and one delete of a model the bind names, store call by store call (each store
 * call is one Redis command or script, or a few reads): whatever the order, every binding names models that exist,
 * a refused bind wrote nothing, and the two never both go ahead.
 */
/** Writes fenced by bind claims (BindingStore.setFenced), on the stores the race runs on. */
function fencedWriteContract(name: string, makeStores: () => { models: ModelStore; bindings: BindingStore }): void {
  describe(`fenced binding writes: ${name}`, () => {
    it('writes while every claim of the fence holds, and nothing once one is released or ended', async () => {
      const { models, bindings } = makeStores()
      const m = (await models.claim('m', 'bind', 10_000)) ?? ''
      const spare = (await models.claim('spare', 'bind', 10_000)) ?? ''
      const fence = [
        { modelId: 'm', token: m },
        { modelId: 'spare', token: spare },
      ]
      const binding = { modelId: 'm', shadow: { modelId: 'spare' } }
      expect(await bindings.setFenced('e1', binding, fence)).toBe(true)
      expect(await bindings.get('e1')).toEqual(binding)
      expect(await bindings.list()).toEqual([{ entity: 'e1', binding }]) // indexed, as `set` does
      expect(await bindings.setFenced('e2', binding, [{ modelId: 'm', token: 'another-bind' }])).toBe(false)
      await models.releaseClaim('spare', 'bind', spare)
      expect(await bindings.setFenced('e2', binding, fence)).toBe(false)
      const ending = (await models.claim('m', 'bind', 100)) ?? ''
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(await bindings.setFenced('e3', { modelId: 'm' }, [{ modelId: 'm', token: ending }])).toBe(false)
      expect(await bindings.list()).toEqual([{ entity: 'e1', binding }])
      expect([await bindings.get('e2'), await bindings.get('e3')]).toEqual([undefined, undefined])
    })
  })
}

export function bindDeleteRaceContract(
  name: string,
  makeStores: () => { models: ModelStore; bindings: BindingStore },
): void {
  fencedWriteContract(name, makeStores)
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

    async function race(raceCase: RaceCase, choices: readonly Side[]) {
      const { models, bindings } = makeStores()
      for (const id of ['m', 'other', 'spare']) await models.registerReady(id, '{}', META)
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
          bindToModels(
            gated<ModelStore>(models, 'bind', interleaver),
            gated(bindings, 'bind', interleaver),
            raceCase.changes,
          ),
        ),
        settle('delete', () =>
          deleteUnboundModel(
            gated<ModelStore>(models, 'delete', interleaver),
            gated(bindings, 'delete', interleaver),
            raceCase.deleted,
          ),
        ),
      ])
      return { models, bindings, bound, deleted, taken: interleaver.taken }
    }

    it.each(CASES)('keeps every binding on models that exist, in all of them: $name', async (raceCase) => {
      const pending: Side[][] = [[]]
      const outcomes = new Set<string>()
      let schedules = 0
      while (pending.length > 0) {
        const choices = pending.pop() ?? []
        const { models, bindings, bound, deleted, taken } = await race(raceCase, choices)
        schedules++
        // Branch wherever both sides waited and this run let the bind go first.
        taken.forEach(({ side, both }, index) => {
          if (index >= choices.length && both && side === 'bind') {
            pending.push([...taken.slice(0, index).map((step) => step.side), 'delete'])
          }
        })
        const ids = new Set(await models.listModelIds())
        const list = await bindings.list()
        // Read by entity too: a binding the index missed would escape `list`, and a delete with it.
        const touched = await Promise.all(raceCase.changes.map(({ entity }) => bindings.get(entity)))
        for (const binding of [...list.map((x) => x.binding), ...touched]) {
          if (binding === undefined) continue
          expect(ids.has(binding.modelId)).toBe(true)
          if (binding.shadow !== undefined) expect(ids.has(binding.shadow.modelId)).toBe(true)
        }
        expect(bound === 'ok' && deleted === 'ok').toBe(false)
        const written = raceCase.changes.map(({ entity, binding }) => ({ entity, binding }))
        if (bound === 'ok') {
          for (const change of written) expect(list).toContainEqual(change)
        } else {
          expect(['ModelInUse', 'ModelNotExist']).toContain(bound.code)
          expect(list).toEqual([{ entity: 'e1', binding: { modelId: 'other', version: 1 } }]) // nothing written
        }
        if (deleted === 'ok') expect(ids.has(raceCase.deleted)).toBe(false)
        else expect(deleted.code).toBe('ModelInUse')
        for (const id of ['m', 'spare']) {
          expect([await models.isClaimed(id, 'delete'), await models.isClaimed(id, 'bind')]).toEqual([false, false])
        }
        outcomes.add(
          `bind ${bound === 'ok' ? 'went ahead' : 'refused'}, delete ${deleted === 'ok' ? 'went ahead' : 'refused'}`,
        )
      }
      // The enumeration reached each possible ending: one side goes ahead, or both refuse (each saw the other's claim).
      expect([...outcomes].sort()).toEqual([
        'bind refused, delete refused',
        'bind refused, delete went ahead',
        'bind went ahead, delete refused',
      ])
      expect(schedules).toBeGreaterThan(20)
    })
  })
}
