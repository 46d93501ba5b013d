import { describe, expect, it } from 'vitest'
import { MemoryBindingStore } from '../../../src/state/binding-store.js'
import { MemoryModelStore } from '../../../src/state/model-store.js'
import { ModelResolver } from '../../../src/stream/model-runtime.js'
import { windowMeanModel } from '../../support/window-mean-model.js'

const STATE = JSON.stringify({ variables: ['a'], slidingWindow: 28, threshold: 1 })

describe('ModelResolver', () => {
  it('loads each model version once and shares it between entities', async () => {
    const bindings = new MemoryBindingStore()
    const models = new MemoryModelStore()
    let loads = 0
    const resolver = new ModelResolver(bindings, models, (json, id) => {
      loads++
      return windowMeanModel(json, id)
    })
    await models.registerReady('m', STATE, { variables: ['a'], slidingWindow: 28 })
    await bindings.set('e1', { modelId: 'm' })
    await bindings.set('e2', { modelId: 'm', version: 1 })
    expect((await resolver.resolve('e1'))?.version).toBe(1)
    expect((await resolver.resolve('e2'))?.version).toBe(1)
    expect(loads).toBe(1)
    expect(resolver.loadedModelCount).toBe(1)
  })

  it('answers a miss from memory for a while, then asks again (a binding may appear later)', async () => {
    const bindings = new MemoryBindingStore()
    const models = new MemoryModelStore()
    let now = 0
    const resolver = new ModelResolver(bindings, models, windowMeanModel, { missTtlMs: 1_000, now: () => now })
    expect(await resolver.resolve('e1')).toBeUndefined()
    await models.registerReady('m', STATE, { variables: ['a'], slidingWindow: 28 })
    await bindings.set('e1', { modelId: 'm' })
    now = 500
    expect(await resolver.resolve('e1')).toBeUndefined() // still the remembered miss
    now = 1_500
    expect((await resolver.resolve('e1'))?.modelId).toBe('m')
  })

  it('forgets an entity on invalidate', async () => {
    const bindings = new MemoryBindingStore()
    const models = new MemoryModelStore()
    const resolver = new ModelResolver(bindings, models, windowMeanModel)
    await models.registerReady('m', STATE, { variables: ['a'], slidingWindow: 28 })
    await models.registerReady('m', STATE, { variables: ['a'], slidingWindow: 28 })
    await bindings.set('e1', { modelId: 'm', version: 1 })
    expect((await resolver.resolve('e1'))?.version).toBe(1)
    await bindings.set('e1', { modelId: 'm', version: 2 })
    expect((await resolver.resolve('e1'))?.version).toBe(1)
    resolver.invalidate('e1')
    expect((await resolver.resolve('e1'))?.version).toBe(2)
  })
})
