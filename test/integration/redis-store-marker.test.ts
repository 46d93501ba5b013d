import { afterAll, describe, expect, inject, it } from 'vitest'
import { Redis } from 'ioredis'
import { StoreMarker } from '../../src/state/store-marker.js'
import { keySpace } from '../../src/state/keys.js'
import { uniquePrefix } from '../support/names.js'

describe('StoreMarker (real Redis): a Redis that lost the service data is noticed', () => {
  const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 2 })
  const key = keySpace(uniquePrefix('marker')).storeMarker()

  afterAll(async () => {
    await redis.del(key)
    await redis.quit()
  })

  it('is claimed by the first instance, adopted by the next, and fails every check while the data is gone', async () => {
    const lost: string[] = []
    const first = new StoreMarker(redis, key, (message) => lost.push(message))
    const second = new StoreMarker(redis, key)
    await first.verify() // claims
    const token = await redis.get(key)
    expect(token).toMatch(/^[0-9a-f-]{36}$/)
    await second.verify() // adopts the same token
    expect(await redis.get(key)).toBe(token)
    await first.verify()
    await second.verify()

    await redis.del(key) // what a restart without persistence or a FLUSHALL leaves
    await expect(first.verify()).rejects.toMatchObject({ code: 'RedisError', retriable: false })
    await expect(first.verify()).rejects.toThrow(/Redis lost this service's data: its marker .* is gone/)
    expect(first.lost).toBe(true)
    expect(lost).toHaveLength(1) // told once, not on every check
    expect(await redis.get(key)).toBeNull() // a check never re-creates it: the loss stays visible

    await redis.set(key, 'another-token') // another server (or another deployment's data) behind REDIS_URL
    await expect(second.verify()).rejects.toThrow(/is another one/)

    await redis.set(key, token ?? '') // Redis restored from a backup: the marker comes back with the data
    await first.verify()
    await second.verify()
    expect(first.lost).toBe(false)
  })
})
