import { RedisResultStore } from '../../src/state/redis-result-store.js'
import { resultStoreContract } from '../contracts/result-store.contract.js'
import { redisForContract } from '../support/redis-contract.js'

const { redis, keys, nextId } = redisForContract('rs')
resultStoreContract('redis', () => ({
  store: new RedisResultStore(redis, keys),
  resultId: () => nextId('r'),
  wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}))
