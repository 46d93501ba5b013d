import { describe, expect, it } from 'vitest'
import { MemoryBindingStore } from '../../../src/state/binding-store.js'
import { MemoryModelStore } from '../../../src/state/model-store.js'
import { ModelResolver, shadowColumns, shadowWindow } from '../../../src/stream/model-runtime.js'
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

  /** A resolver over model m with versions 1 and 2. */
  async function twoVersions(): Promise<{ bindings: MemoryBindingStore; resolver: ModelResolver }> {
    const bindings = new MemoryBindingStore()
    const models = new MemoryModelStore()
    await models.registerReady('m', STATE, { variables: ['a'], slidingWindow: 28 })
    await models.registerReady('m', STATE, { variables: ['a'], slidingWindow: 28 })
    return { bindings, resolver: new ModelResolver(bindings, models, windowMeanModel) }
  }

  it('forgets an entity on invalidate', async () => {
    const { bindings, resolver } = await twoVersions()
    await bindings.set('e1', { modelId: 'm', version: 1 })
    expect((await resolver.resolve('e1'))?.version).toBe(1)
    await bindings.set('e1', { modelId: 'm', version: 2 })
    expect((await resolver.resolve('e1'))?.version).toBe(1)
    resolver.invalidate('e1')
    expect((await resolver.resolve('e1'))?.version).toBe(2)
  })

  it('invalidateAll forgets every entity it resolved (notices missed) and names them', async () => {
    const { bindings, resolver } = await twoVersions()
    await bindings.set('e1', { modelId: 'm', version: 1 })
    await bindings.set('e2', { modelId: 'm', version: 1 })
    await resolver.resolve('e1')
    await resolver.resolve('e2')
    expect(await resolver.resolve('nobody')).toBeUndefined()
    await bindings.set('e1', { modelId: 'm', version: 2 })
    expect(resolver.invalidateAll().sort()).toEqual(['e1', 'e2', 'nobody'])
    expect((await resolver.resolve('e1'))?.version).toBe(2)
    expect(resolver.invalidateAll().sort()).toEqual(['e1'])
  })

  it('unloads versions no entity uses once bindings move on, and says when a model is gone altogether', async () => {
    const bindings = new MemoryBindingStore()
    const models = new MemoryModelStore()
    const dropped: string[] = []
    const resolver = new ModelResolver(bindings, models, windowMeanModel, { onModelDropped: (id) => dropped.push(id) })
    await models.registerReady('m', STATE, { variables: ['a'], slidingWindow: 28 })
    await models.registerReady('m', STATE, { variables: ['a'], slidingWindow: 28 })
    await bindings.set('e1', { modelId: 'm', version: 1 })
    await bindings.set('e2', { modelId: 'm', version: 1 })
    await resolver.resolve('e1')
    await resolver.resolve('e2')
    expect(resolver.loadedModelCount).toBe(1)
    await bindings.set('e1', { modelId: 'm', version: 2 })
    resolver.invalidate('e1')
    await resolver.resolve('e1')
    expect(resolver.loadedModelCount).toBe(2) // e2 still scores with version 1
    await bindings.set('e2', { modelId: 'm', version: 2 })
    resolver.invalidate('e2')
    expect(resolver.loadedModelCount).toBe(1) // version 1 unloaded: it used to stay for ever
    expect(dropped).toEqual([]) // version 2 of m is still loaded
    await bindings.delete('e1')
    await bindings.delete('e2')
    resolver.invalidateAll()
    expect(resolver.loadedModelCount).toBe(0)
    expect(dropped).toEqual(['m'])
  })

  it('forgets entities another instance took over and unloads the models only they used', async () => {
    const bindings = new MemoryBindingStore()
    const models = new MemoryModelStore()
    const dropped: string[] = []
    const resolver = new ModelResolver(bindings, models, windowMeanModel, { onModelDropped: (id) => dropped.push(id) })
    for (const id of ['m1', 'm2', 'shared'])
      await models.registerReady(id, STATE, { variables: ['a'], slidingWindow: 28 })
    await bindings.set('e1', { modelId: 'm1' })
    await bindings.set('e2', { modelId: 'm2' })
    await bindings.set('e3', { modelId: 'shared' })
    await bindings.set('e4', { modelId: 'shared' })
    for (const entity of ['e1', 'e2', 'e3', 'e4']) await resolver.resolve(entity)
    expect(resolver.loadedModelCount).toBe(3)
    resolver.forget(['e1', 'e3']) // e4 keeps `shared` loaded
    expect(resolver.loadedModelCount).toBe(2)
    expect(dropped).toEqual(['m1'])
  })

  it('does not remember a resolution that a binding change overtook while it read the stores', async () => {
    const inner = new MemoryBindingStore()
    const models = new MemoryModelStore()
    await models.registerReady('m', STATE, { variables: ['a'], slidingWindow: 28 })
    await models.registerReady('m', STATE, { variables: ['a'], slidingWindow: 28 })
    await inner.set('e1', { modelId: 'm', version: 1 })
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => (release = resolve))
    const slow = Object.create(inner) as MemoryBindingStore
    slow.get = async (entity: string) => {
      const binding = await inner.get(entity) // read before the change below
      await gate
      return binding
    }
    const resolver = new ModelResolver(slow, models, windowMeanModel)
    const inFlight = resolver.resolve('e1')
    await inner.set('e1', { modelId: 'm', version: 2 })
    resolver.invalidate('e1') // the change is announced while the first resolution waits
    release()
    expect((await inFlight)?.version).toBe(1) // it read the old binding...
    expect((await resolver.resolve('e1'))?.version).toBe(2) // ...but did not keep it
  })

  it('keeps a resolution that only other entities being forgotten overtook (a rebalance moving others away)', async () => {
    const inner = new MemoryBindingStore()
    const models = new MemoryModelStore()
    await models.registerReady('m', STATE, { variables: ['a'], slidingWindow: 28 })
    await inner.set('e1', { modelId: 'm' })
    await inner.set('e2', { modelId: 'm' })
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => (release = resolve))
    let reads = 0
    const slow = Object.create(inner) as MemoryBindingStore
    slow.get = async (entity: string) => {
      const binding = await inner.get(entity)
      if (entity === 'e1') {
        reads++
        await gate
      }
      return binding
    }
    const resolver = new ModelResolver(slow, models, windowMeanModel)
    await resolver.resolve('e2')
    const inFlight = resolver.resolve('e1')
    resolver.forget(['e2']) // e2 moved to another instance while e1 was being resolved
    release()
    expect((await inFlight)?.modelId).toBe('m')
    await resolver.resolve('e1')
    expect(reads).toBe(1) // e1's resolution was remembered: the second one did not read the binding again
    expect(resolver.loadedModelCount).toBe(1)
  })

  it('says why an entity whose model cannot be loaded resolves to nothing', async () => {
    const bindings = new MemoryBindingStore()
    const models = new MemoryModelStore()
    await models.registerReady('m', '{broken', { variables: ['a'], slidingWindow: 28 })
    await bindings.set('e1', { modelId: 'm' })
    const resolver = new ModelResolver(bindings, models, windowMeanModel)
    expect(await resolver.resolve('e1')).toBeUndefined()
    expect(resolver.unresolvedReason('e1')).toMatch(/^entity "e1" is bound to a model that cannot be served: model m@1/)
    expect(resolver.unresolvedReason('e2')).toBeUndefined()
  })

  it('resolves a shadow beside the default, and reports (without failing the default) a shadow it cannot serve', async () => {
    const bindings = new MemoryBindingStore()
    const models = new MemoryModelStore()
    const problems: string[] = []
    const resolver = new ModelResolver(bindings, models, windowMeanModel, {
      onShadowProblem: (entity, problem) => problems.push(`${entity}: ${problem}`),
    })
    const state = (variables: string[]) => JSON.stringify({ variables, slidingWindow: 28, threshold: 1 })
    await models.registerReady('m', state(['a', 'b']), { variables: ['a', 'b'], slidingWindow: 28 })
    await models.registerReady('s', state(['b', 'a']), { variables: ['b', 'a'], slidingWindow: 28 })
    await models.registerReady('x', state(['a', 'z']), { variables: ['a', 'z'], slidingWindow: 28 })
    await bindings.set('e1', { modelId: 'm', shadow: { modelId: 's' } })
    await bindings.set('e2', { modelId: 'm', shadow: { modelId: 'x' } })
    await bindings.set('e3', { modelId: 'm', shadow: { modelId: 'gone' } })
    const e1 = await resolver.resolveEntity('e1')
    expect(e1?.model.modelId).toBe('m')
    expect(e1?.shadow?.model.modelId).toBe('s')
    expect([...(e1?.shadow?.columns ?? [])]).toEqual([1, 0])
    expect((await resolver.resolveEntity('e2'))?.shadow).toBeUndefined()
    expect((await resolver.resolveEntity('e3'))?.shadow).toBeUndefined()
    expect(problems).toEqual([
      "e2: shadow model x@latest: the shadow model's variables differ from the default model's (only in the shadow: z; only in the default: b)",
      'e3: shadow model gone@latest has no READY version',
    ])
  })
})

describe('shadow layout', () => {
  it('maps shadow columns to default columns, none when the order is the same', () => {
    expect(shadowColumns(['a', 'b', 'c'], ['a', 'b', 'c'])).toEqual({ columns: undefined })
    expect(shadowColumns(['a', 'b', 'c'], ['c', 'a', 'b'])).toEqual({ columns: Int32Array.from([2, 0, 1]) })
    expect(shadowColumns(['a', 'b'], ['a', 'b', 'c'])).toEqual({
      problem: "the shadow model's variables differ from the default model's (only in the shadow: c)",
    })
  })

  it('gives the shadow its last slidingWindow rows, permuted into its order', () => {
    const rows = [0, 1, 2].map((i) => Float64Array.from([i, 10 + i, 20 + i]))
    const model = windowMeanModel(JSON.stringify({ variables: ['c', 'a'], slidingWindow: 2, threshold: 1 }), {
      modelId: 's',
      version: 1,
    })
    const permuted = shadowWindow(rows, { model, columns: Int32Array.from([2, 0]) })
    expect(permuted.map((r) => [...r])).toEqual([
      [21, 1],
      [22, 2],
    ])
    const same = shadowWindow(rows, { model, columns: undefined })
    expect(same[0]).toBe(rows[1]) // no copy when the order is the same
  })
})
