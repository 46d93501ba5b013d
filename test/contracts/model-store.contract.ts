/** One contract for every ModelStore implementation (memory and Redis). */
import { describe, expect, it } from 'vitest'
import type { ModelStore } from '../../src/state/model-store.js'

export function modelStoreContract(name: string, makeStore: () => { store: ModelStore; modelId: () => string }): void {
  describe(`ModelStore contract: ${name}`, () => {
    const meta = { variables: ['a', 'b'], slidingWindow: 28, displayName: 'demo' }

    it('numbers versions per model and returns the latest READY state', async () => {
      const { store, modelId } = makeStore()
      const id = modelId()
      const v1 = await store.registerReady(id, '{"v":1}', meta)
      const v2 = await store.registerReady(id, '{"v":2}', meta)
      expect([v1.version, v2.version]).toEqual([1, 2])
      expect(v2).toMatchObject({ modelId: id, status: 'READY', variables: ['a', 'b'], slidingWindow: 28, errors: [] })
      expect((await store.getReadyState(id))?.stateJson).toBe('{"v":2}')
      expect((await store.getReadyState(id, 1))?.stateJson).toBe('{"v":1}')
      expect((await store.getInfo(id))?.version).toBe(2)
      expect((await store.getInfo(id, 1))?.displayName).toBe('demo')
      expect((await store.listVersions(id)).map((v) => v.version)).toEqual([1, 2])
      expect(await store.listModelIds()).toContain(id)
    })

    it('answers undefined for unknown models and versions', async () => {
      const { store, modelId } = makeStore()
      const id = modelId()
      expect(await store.getInfo(id)).toBeUndefined()
      expect(await store.getReadyState(id)).toBeUndefined()
      await store.registerReady(id, '{}', meta)
      expect(await store.getReadyState(id, 7)).toBeUndefined()
      expect(await store.listVersions(modelId())).toEqual([])
    })

    it('deletes a model with all its versions', async () => {
      const { store, modelId } = makeStore()
      const id = modelId()
      await store.registerReady(id, '{}', meta)
      expect(await store.deleteModel(id)).toBe(true)
      expect(await store.getReadyState(id)).toBeUndefined()
      expect(await store.listModelIds()).not.toContain(id)
      expect(await store.deleteModel(id)).toBe(false)
    })
  })
}
