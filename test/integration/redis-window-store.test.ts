import { afterAll, inject } from 'vitest'
import { Redis } from 'ioredis'
import { keySpace } from '../../src/state/keys.js'
import { RedisWindowStore } from '../../src/state/redis-window-store.js'
import { windowStoreContract } from '../contracts/window-store.contract.js'
import { uniquePrefix } from '../support/names.js'

const redis = new Redis(inject('redisUrl'))
const prefix = uniquePrefix('ws')
let counter = 0

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`)
  if (keys.length > 0) await redis.del(...keys)
  await redis.quit()
})

windowStoreContract('redis', () => ({
  store: new RedisWindowStore(redis, keySpace(prefix), { idleTtlSeconds: 600 }),
  entity: () => `e${++counter}`,
}))
