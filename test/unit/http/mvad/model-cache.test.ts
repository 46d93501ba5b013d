import { describe, expect, it } from 'vitest'
import type { LoadedModel } from '../../../../src/cli/model-file.js'
import { ReadyModelCache } from '../../../../src/http/mvad/model-cache.js'

/** A stand-in parse: the cache never looks inside a model, only keeps it. */
const parsed = (stateJson: string) => ({ stateJson }) as unknown as LoadedModel

const M1 = { modelId: 'm', version: 1, createdTime: '2024-01-01T00:00:00Z' }

describe('ReadyModelCache', () => {
  /** Gets `modelId` version `version` whose state is `bytes` long; says whether it had to be loaded. */
  function getter(cache: ReadyModelCache) {
    const loads: string[] = []
    const get = (modelId: string, version: number, bytes: number) =>
      cache.get(
        { modelId, version, createdTime: '2024-01-01T00:00:00Z' },
        () => {
          loads.push(`${modelId}@${version}`)
          return Promise.resolve('x'.repeat(bytes))
        },
        parsed,
      )
    return { get, loads }
  }

  it('loads a version once and hands the same model out again; another version is another entry', async () => {
    const cache = new ReadyModelCache(100)
    const { get, loads } = getter(cache)
    const first = await get('m', 1, 10)
    expect(await get('m', 1, 10)).toBe(first)
    await get('m', 2, 10)
    await get('m2', 1, 10)
    expect(loads).toEqual(['m@1', 'm@2', 'm2@1'])
    expect(cache.size).toEqual({ models: 3, bytes: 30 })
    // The same number on a version made anew (a Redis that lost its data numbers from 1 again): another entry.
    const remade = await cache.get({ ...M1, createdTime: '2024-06-01T00:00:00Z' }, () => Promise.resolve('{}'), parsed)
    expect(remade).not.toBe(first)
  })

  it('shares one load among requests that miss together', async () => {
    const cache = new ReadyModelCache(100)
    let loads = 0
    let finish: (json: string) => void = () => undefined
    const load = () => {
      loads++
      return new Promise<string>((resolve) => (finish = resolve))
    }
    const both = Promise.all([cache.get(M1, load, parsed), cache.get(M1, load, parsed)])
    finish('{}')
    const [a, b] = await both
    expect(a).toBe(b)
    expect(loads).toBe(1)
    expect(cache.size).toEqual({ models: 1, bytes: 2 })
  })

  it('lets the least recently used go when the states outgrow the budget', async () => {
    const cache = new ReadyModelCache(10)
    const { get, loads } = getter(cache)
    await get('a', 1, 4)
    await get('b', 1, 4)
    await get('a', 1, 4) // a is now the most recent
    await get('c', 1, 4) // 12 bytes > 10: b goes
    expect(cache.size).toEqual({ models: 2, bytes: 8 })
    await get('a', 1, 4)
    await get('c', 1, 4)
    await get('b', 1, 4)
    expect(loads).toEqual(['a@1', 'b@1', 'c@1', 'b@1'])
  })

  it('keeps no state longer than the whole budget, and nothing with a budget of 0', async () => {
    const small = getter(new ReadyModelCache(10))
    await small.get('big', 1, 11)
    await small.get('big', 1, 11)
    expect(small.loads).toEqual(['big@1', 'big@1'])
    const none = getter(new ReadyModelCache(0))
    await none.get('m', 1, 1)
    await none.get('m', 1, 1)
    expect(none.loads).toHaveLength(2)
  })

  it('keeps nothing when the load or the parse fails, so the next request tries again', async () => {
    const cache = new ReadyModelCache(100)
    const failing = () => Promise.reject(new Error('Redis away'))
    await expect(cache.get(M1, failing, parsed)).rejects.toThrow('Redis away')
    const refused = (): LoadedModel => {
      throw new Error('not a model')
    }
    await expect(cache.get(M1, () => Promise.resolve('{}'), refused)).rejects.toThrow('not a model')
    expect(cache.size).toEqual({ models: 0, bytes: 0 })
    await cache.get(M1, () => Promise.resolve('{}'), parsed)
    expect(cache.size.models).toBe(1)
  })
})
