import { describe, expect, it } from 'vitest'
import { RedisModelStore } from '../../src/state/redis-model-store.js'
import { modelStoreContract } from '../contracts/model-store.contract.js'
import { deleteUnderClaim } from '../support/delete-under-claim.js'
import { redisForContract } from '../support/redis-contract.js'

const { redis, keys, nextId } = redisForContract('ms')
modelStoreContract('redis', () => ({ store: new RedisModelStore(redis, keys), modelId: () => nextId('m') }))

describe('RedisModelStore delete', () => {
  it('removes every version state up to the counter in one step (no orphan from a version registered meanwhile)', async () => {
    const store = new RedisModelStore(redis, keys)
    const modelId = nextId('race-')
    const meta = { variables: ['a'], slidingWindow: 28 }
    await store.registerReady(modelId, '{"v":1}', meta)
    await store.registerReady(modelId, '{"v":2}', meta)
    // What a list-then-delete saw when v2 was registered between its list and its delete: v1 only.
    await redis.hdel(keys.modelVersions(modelId), '2')
    expect(await deleteUnderClaim(store, modelId)).toBe('deleted')
    expect(await redis.exists(keys.modelState(modelId, 1), keys.modelState(modelId, 2))).toBe(0)
    expect(await redis.exists(keys.modelVersions(modelId))).toBe(0)
    // The counter stays, so a model made again under the id numbers on from version 2 (see the contract suite).
    expect(await redis.get(keys.modelVersionSeq(modelId))).toBe('2')
    expect(await store.listModelIds()).not.toContain(modelId)
    expect(await deleteUnderClaim(store, modelId)).toBe('absent')
  })
})
