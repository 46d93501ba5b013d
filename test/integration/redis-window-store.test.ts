import { RedisWindowStore } from '../../src/state/redis-window-store.js'
import { windowStoreContract } from '../contracts/window-store.contract.js'
import { redisForContract } from '../support/redis-contract.js'

const { redis, keys, nextId } = redisForContract('ws')
windowStoreContract('redis', () => ({
  store: new RedisWindowStore(redis, keys, { idleTtlSeconds: 600 }),
  entity: () => nextId('e'),
}))
