/** One contract for every BindingStore implementation (memory and Redis). */
import { describe, expect, it, vi } from 'vitest'
import type { BindingStore } from '../../src/state/binding-store.js'

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
