/** One contract for every BindingStore implementation (memory and Redis). */
import { describe, expect, it, vi } from 'vitest'
import { entitiesUsingModel, type BindingStore } from '../../src/state/binding-store.js'

export function bindingStoreContract(
  name: string,
  makeStore: () => { store: BindingStore; entity: () => string },
): void {
  describe(`BindingStore contract: ${name}`, () => {
    it('stores, replaces and deletes bindings', async () => {
      const { store, entity } = makeStore()
      const e = entity()
      expect(await store.get(e)).toBeUndefined()
      await store.set(e, { modelId: 'm1' })
      expect(await store.get(e)).toEqual({ modelId: 'm1' })
      await store.set(e, { modelId: 'm2', version: 3 })
      expect(await store.get(e)).toEqual({ modelId: 'm2', version: 3 })
      await store.delete(e)
      expect(await store.get(e)).toBeUndefined()
    })

    it('lists bindings with their shadow models and finds the entities using a model', async () => {
      const { store, entity } = makeStore()
      const [a, b] = [entity(), entity()].sort()
      await store.set(a as string, { modelId: 'm1', version: 2 })
      await store.set(b as string, { modelId: 'm2', shadow: { modelId: 'm1' } })
      // Other tests may share the store: look at this test's entities only.
      const all = (await store.list()).filter((x) => x.entity === a || x.entity === b)
      expect(all).toEqual([
        { entity: a, binding: { modelId: 'm1', version: 2 } },
        { entity: b, binding: { modelId: 'm2', shadow: { modelId: 'm1' } } },
      ])
      expect(entitiesUsingModel(all, 'm1')).toEqual([a, b])
      expect(entitiesUsingModel(all, 'm2')).toEqual([b])
      await store.delete(a as string)
      const left = (await store.list()).map((x) => x.entity).filter((x) => x === a || x === b)
      expect(left).toEqual([b])
    })

    it('announces changes to subscribers', async () => {
      const { store, entity } = makeStore()
      const e = entity()
      const listener = vi.fn()
      const unsubscribe = await store.subscribe(listener)
      await store.set(e, { modelId: 'm1' })
      await vi.waitFor(() => expect(listener).toHaveBeenCalledWith(e), { timeout: 5_000 })
      await unsubscribe()
    })
  })
}
