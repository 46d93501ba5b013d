import { afterAll, inject } from 'vitest'
import { Redis } from 'ioredis'
import { keySpace } from '../../src/state/keys.js'
import { RedisBindingStore } from '../../src/state/redis-binding-store.js'
import { bindingStoreContract } from '../contracts/binding-store.contract.js'
import { uniquePrefix } from '../support/names.js'

const redis = new Redis(inject('redisUrl'))
const prefix = uniquePrefix('bs')
let counter = 0

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`)
  if (keys.length > 0) await redis.del(...keys)
  await redis.quit()
})

bindingStoreContract('redis', () => ({
  store: new RedisBindingStore(redis, keySpace(prefix)),
  entity: () => `e${++counter}`,
}))
