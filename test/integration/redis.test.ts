import { afterAll, describe, expect, inject, it } from 'vitest'
import { Redis } from 'ioredis'
import { uniquePrefix } from '../support/names.js'

describe('Redis (real server)', () => {
  const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 2 })
  const prefix = uniquePrefix('redis')

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    await redis.quit()
  })

  it('round-trips a hash', async () => {
    const key = `${prefix}:{e1}:meta`
    await redis.hset(key, { model: 'm1', version: '3' })
    expect(await redis.hgetall(key)).toEqual({ model: 'm1', version: '3' })
  })

  it('runs a Lua script that touches two keys atomically', async () => {
    // KEYS[1] = list, KEYS[2] = offset key; ARGV[1] = value, ARGV[2] = max length, ARGV[3] = offset.
    // Returns the list length after the push and trim.
    redis.defineCommand('pushCapped', {
      numberOfKeys: 2,
      lua: `
        redis.call('RPUSH', KEYS[1], ARGV[1])
        redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
        redis.call('SET', KEYS[2], ARGV[3])
        return redis.call('LLEN', KEYS[1])`,
    })
    const push = (value: string, offset: number): Promise<number> =>
      (redis as unknown as { pushCapped: (...args: (string | number)[]) => Promise<number> }).pushCapped(
        `${prefix}:{e1}:window`,
        `${prefix}:{e1}:offset`,
        value,
        3,
        offset,
      )
    expect(await push('a', 1)).toBe(1)
    expect(await push('b', 2)).toBe(2)
    expect(await push('c', 3)).toBe(3)
    expect(await push('d', 4)).toBe(3)
    expect(await redis.lrange(`${prefix}:{e1}:window`, 0, -1)).toEqual(['b', 'c', 'd'])
    expect(await redis.get(`${prefix}:{e1}:offset`)).toBe('4')
  })
})
