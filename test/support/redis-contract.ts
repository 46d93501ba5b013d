/** A Redis connection and a unique key prefix for one contract-suite file, cleaned up after it. */
import { afterAll, inject } from 'vitest'
import { Redis } from 'ioredis'
import { keySpace, type KeySpace } from '../../src/state/keys.js'
import { uniquePrefix } from './names.js'

export function redisForContract(label: string): {
  redis: Redis
  keys: KeySpace
  nextId: (stem: string) => string
  /** Keys under the file's prefix and `name`: a namespace of their own for one case (cleaned up with the rest). */
  scope: (name: string) => KeySpace
} {
  const redis = new Redis(inject('redisUrl'))
  const prefix = uniquePrefix(label)
  let counter = 0
  afterAll(async () => {
    const stale = await redis.keys(`${prefix}*`)
    if (stale.length > 0) await redis.del(...stale)
    await redis.quit()
  })
  return {
    redis,
    keys: keySpace(prefix),
    nextId: (stem) => `${stem}${++counter}`,
    scope: (name) => keySpace(`${prefix}:${name}`),
  }
}
