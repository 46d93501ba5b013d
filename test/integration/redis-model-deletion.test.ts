import { RedisBindingStore } from '../../src/state/redis-binding-store.js'
import { RedisModelStore } from '../../src/state/redis-model-store.js'
import { bindDeleteRaceContract } from '../contracts/model-deletion.contract.js'
import { redisForContract } from '../support/redis-contract.js'

const { redis, nextId, scope } = redisForContract('md')
// Each interleaving in a namespace of its own: the delete reads every binding there.
bindDeleteRaceContract('redis', () => {
  const keys = scope(nextId('run'))
  return { models: new RedisModelStore(redis, keys), bindings: new RedisBindingStore(redis, keys) }
})
