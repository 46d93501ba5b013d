import { afterAll, inject } from 'vitest'
import { Redis } from 'ioredis'
import { keySpace } from '../../src/state/keys.js'
import { RedisModelStore } from '../../src/state/redis-model-store.js'
import { modelStoreContract } from '../contracts/model-store.contract.js'
import { uniquePrefix } from '../support/names.js'

const redis = new Redis(inject('redisUrl'))
const prefix = uniquePrefix('ms')
let counter = 0

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`)
  if (keys.length > 0) await redis.del(...keys)
  await redis.quit()
})

modelStoreContract('redis', () => ({
  store: new RedisModelStore(redis, keySpace(prefix)),
  modelId: () => `m${++counter}`,
}))
