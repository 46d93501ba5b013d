import { describe, expect, it } from 'vitest'
import { RedisJobStore } from '../../src/state/redis-job-store.js'
import { jobStoreContract } from '../contracts/job-store.contract.js'
import { redisForContract } from '../support/redis-contract.js'

const { redis, keys, nextId } = redisForContract('js')
jobStoreContract('redis', () => ({ store: new RedisJobStore(redis, keys), jobId: () => nextId('job-') }))

describe('RedisJobStore index', () => {
  it('a redelivered command re-indexes a job whose index entry was never written (a crash between the writes)', async () => {
    const store = new RedisJobStore(redis, keys)
    const jobId = nextId('orphan-')
    const command = { type: 'delete-model', jobId, modelId: 'm' }
    await store.create(jobId, 'delete-model', command, new Date())
    await redis.zrem(keys.jobIndex(), jobId) // as if the process died after SET NX, before ZADD
    expect((await store.list({ status: 'CREATED', limit: 1000 })).map((r) => r.jobId)).not.toContain(jobId)
    const again = await store.create(jobId, 'delete-model', command, new Date())
    expect(again.created).toBe(false)
    expect((await store.list({ status: 'CREATED', limit: 1000 })).map((r) => r.jobId)).toContain(jobId)
  })
})
