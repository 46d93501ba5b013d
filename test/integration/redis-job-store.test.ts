import { describe, expect, it } from 'vitest'
import { keySpace } from '../../src/state/keys.js'
import { RedisJobStore } from '../../src/state/redis-job-store.js'
import { jobStoreContract } from '../contracts/job-store.contract.js'
import { redisForContract } from '../support/redis-contract.js'

const { redis, keys, nextId } = redisForContract('js')
jobStoreContract('redis', (options) => ({
  store: new RedisJobStore(redis, keys, options),
  jobId: () => nextId('job-'),
}))

describe('RedisJobStore index', () => {
  it('a redelivered command re-indexes a job whose index entry was never written (a crash between the writes)', async () => {
    const store = new RedisJobStore(redis, keys)
    const jobId = nextId('orphan-')
    const command = { type: 'delete-model', jobId, modelId: 'm' }
    await store.create(jobId, 'delete-model', command, new Date())
    // as if the process died after SET NX, before the ZADDs
    await Promise.all([redis.zrem(keys.jobIndex(), jobId), redis.zrem(keys.openJobIndex(), jobId)])
    expect((await store.list({ status: 'CREATED', limit: 1000 })).map((r) => r.jobId)).not.toContain(jobId)
    const again = await store.create(jobId, 'delete-model', command, new Date())
    expect(again.created).toBe(false)
    expect((await store.list({ status: 'CREATED', limit: 1000 })).map((r) => r.jobId)).toContain(jobId)
  })

  it('adds the unfinished jobs of an older release (no open index) to the open index once', async () => {
    const ownKeys = keySpace(`${keys.jobIndex()}-backfill`) // under this file's prefix: removed after the file
    const old = new RedisJobStore(redis, ownKeys)
    await old.list({ status: 'CREATED' }) // the marker is set: what follows is as an older release left it
    await redis.del(`${ownKeys.openJobIndex()}:complete`)
    const [waiting, running, done] = [nextId('old-'), nextId('old-'), nextId('old-')]
    for (const id of [waiting, running, done]) await old.create(id, 'train', {}, new Date())
    await old.update(running, { status: 'RUNNING' }, new Date())
    await old.update(done, { status: 'RUNNING' }, new Date())
    await old.update(done, { status: 'READY' }, new Date())
    await redis.del(ownKeys.openJobIndex())
    const upgraded = new RedisJobStore(redis, ownKeys)
    expect((await upgraded.list({ status: 'CREATED' })).map((r) => r.jobId)).toEqual([waiting])
    expect((await upgraded.list({ status: 'RUNNING' })).map((r) => r.jobId)).toEqual([running])
    expect((await redis.zrange(ownKeys.openJobIndex(), 0, -1)).sort()).toEqual([running, waiting].sort())
  })

  it('keeps unfinished jobs in their own index, and a finished record expires after the retention', async () => {
    const store = new RedisJobStore(redis, keys, { finishedTtlSeconds: 3600 })
    const jobId = nextId('open-')
    await store.create(jobId, 'train', {}, new Date())
    expect(await redis.zscore(keys.openJobIndex(), jobId)).not.toBeNull()
    expect(await redis.ttl(keys.job(jobId))).toBe(-1)
    await store.update(jobId, { status: 'RUNNING' }, new Date())
    expect(await redis.ttl(keys.job(jobId))).toBe(-1)
    await store.update(jobId, { status: 'READY' }, new Date())
    const ttl = await redis.ttl(keys.job(jobId))
    expect(ttl).toBeGreaterThan(3500)
    expect(ttl).toBeLessThanOrEqual(3600)
    // Finished, it leaves the open index (as older releases expect) for the index of unsent final statuses, until its
    // final status is sent; marking that keeps its expiry.
    expect(await redis.zscore(keys.openJobIndex(), jobId)).toBeNull()
    expect(await redis.zscore(keys.unsentFinalIndex(), jobId)).not.toBeNull()
    await redis.expire(keys.job(jobId), 1800)
    await store.update(jobId, { finalStatusSent: true }, new Date())
    expect(await redis.zscore(keys.unsentFinalIndex(), jobId)).toBeNull()
    expect(await redis.zscore(keys.jobIndex(), jobId)).not.toBeNull()
    expect(await redis.ttl(keys.job(jobId))).toBeLessThanOrEqual(1800)
    expect(await redis.ttl(keys.job(jobId))).toBeGreaterThan(1700)
  })

  it('drops an open-index entry left by a crash after the job finished, and index entries of forgotten jobs', async () => {
    const store = new RedisJobStore(redis, keys, { finishedTtlSeconds: 1 })
    const finished = nextId('crashed-')
    await store.create(finished, 'train', {}, new Date(Date.now() - 5_000))
    await store.update(finished, { status: 'FAILED' }, new Date())
    await store.update(finished, { finalStatusSent: true }, new Date())
    await redis.zadd(keys.openJobIndex(), Date.now(), finished) // as if the process died before the ZREM
    expect((await store.list({ status: 'CREATED', limit: 1000 })).map((r) => r.jobId)).not.toContain(finished)
    expect(await redis.zscore(keys.openJobIndex(), finished)).toBeNull()
    await new Promise((resolve) => setTimeout(resolve, 1_200))
    expect(await redis.exists(keys.job(finished))).toBe(0)
    expect(await store.forgetExpired(new Date())).toBeGreaterThanOrEqual(1)
    expect(await redis.zscore(keys.jobIndex(), finished)).toBeNull()
  })

  it('lists unsent final statuses from their own index: entries of missing jobs go, of jobs still finishing stay', async () => {
    const store = new RedisJobStore(redis, keys)
    const [finishing, gone, done] = [nextId('finishing-'), nextId('gone-'), nextId('done-')]
    await store.create(finishing, 'train', {}, new Date())
    await store.create(done, 'train', {}, new Date())
    await store.update(done, { status: 'FAILED' }, new Date())
    // As a crash leaves them: indexed before the finishing write that never came, or for a record since expired.
    await redis.zadd(keys.unsentFinalIndex(), 1, finishing, 2, gone)
    const listed = (await store.listUnsentFinal(10_000)).map((r) => r.jobId)
    expect(listed).toContain(done)
    expect(listed).not.toContain(finishing)
    expect(listed).not.toContain(gone)
    expect(await redis.zscore(keys.unsentFinalIndex(), finishing)).not.toBeNull()
    expect(await redis.zscore(keys.unsentFinalIndex(), gone)).toBeNull()
    // An older release's listing of open jobs (it drops finished entries from the open index) does not touch it.
    await store.list({ status: 'RUNNING', limit: 1000 })
    expect((await store.listUnsentFinal(10_000)).map((r) => r.jobId)).toContain(done)
  })
})
