import { RedisModelStore } from '../../src/state/redis-model-store.js'
import { modelStoreContract } from '../contracts/model-store.contract.js'
import { redisForContract } from '../support/redis-contract.js'

const { redis, keys, nextId } = redisForContract('ms')
modelStoreContract('redis', () => ({ store: new RedisModelStore(redis, keys), modelId: () => nextId('m') }))
