import { RedisBindingStore } from '../../src/state/redis-binding-store.js'
import { bindingStoreContract } from '../contracts/binding-store.contract.js'
import { redisForContract } from '../support/redis-contract.js'

const { redis, keys, nextId } = redisForContract('bs')
bindingStoreContract('redis', () => ({ store: new RedisBindingStore(redis, keys), entity: () => nextId('e') }))
