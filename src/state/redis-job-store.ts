/** JobStore on Redis: one JSON string per job (SET NX for idempotent creation), a sorted-set index by creation time. */
import type { Redis } from 'ioredis'
import type { KeySpace } from './keys.js'
import { COMPARE_AND_SET_LUA } from './lua/scripts.js'
import {
  applyJobUpdate,
  newJobRecord,
  type JobGuard,
  type JobRecord,
  type JobStatus,
  type JobStore,
  type JobUpdate,
  type JobUpdateResult,
} from './job-store.js'

const LIST_CHUNK = 200

type CompareAndSet = (key: string, expected: string, next: string) => Promise<number>

export class RedisJobStore implements JobStore {
  readonly #redis: Redis
  readonly #keys: KeySpace

  constructor(redis: Redis, keys: KeySpace) {
    this.#redis = redis
    this.#keys = keys
    if (!('mvadCompareAndSet' in redis))
      redis.defineCommand('mvadCompareAndSet', { numberOfKeys: 1, lua: COMPARE_AND_SET_LUA })
  }

  async create(
    jobId: string,
    type: string,
    command: unknown,
    now: Date,
  ): Promise<{ created: boolean; record: JobRecord }> {
    const record = newJobRecord(jobId, type, command, now)
    const set = await this.#redis.set(this.#keys.job(jobId), JSON.stringify(record), 'NX')
    if (set === 'OK') {
      await this.#redis.zadd(this.#keys.jobIndex(), now.getTime(), jobId)
      return { created: true, record }
    }
    const existing = await this.get(jobId)
    // The record and its index entry are two writes: a process that died between them left a job the sweep cannot
    // find. Its redelivered command lands here, so the entry is (re)made — NX keeps an existing one as it is.
    if (existing !== undefined) {
      await this.#redis.zadd(this.#keys.jobIndex(), 'NX', Date.parse(existing.createdTime), jobId)
    }
    return { created: false, record: existing ?? record }
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    const raw = await this.#redis.get(this.#keys.job(jobId))
    return raw === null ? undefined : (JSON.parse(raw) as JobRecord)
  }

  async update(jobId: string, update: JobUpdate, now: Date, guard?: JobGuard): Promise<JobUpdateResult> {
    const compareAndSet = (this.#redis as unknown as { mvadCompareAndSet: CompareAndSet }).mvadCompareAndSet
    for (let attempt = 0; attempt < 10; attempt++) {
      const raw = await this.#redis.get(this.#keys.job(jobId))
      if (raw === null) return { ok: false, reason: 'not_found' }
      const record = JSON.parse(raw) as JobRecord
      if (guard !== undefined && !guard(JSON.parse(raw) as JobRecord))
        return { ok: false, reason: 'guard_failed', record }
      const next = applyJobUpdate(record, update, now)
      if (next === undefined) return { ok: false, reason: 'illegal_transition', record }
      if ((await compareAndSet.call(this.#redis, this.#keys.job(jobId), raw, JSON.stringify(next))) === 1) {
        return { ok: true, record: next }
      }
    }
    throw new Error(`job ${jobId} keeps changing; giving up after 10 attempts`)
  }

  async list(options: { status?: JobStatus; limit?: number } = {}): Promise<JobRecord[]> {
    const limit = options.limit ?? 100
    const ids = await this.#redis.zrevrange(this.#keys.jobIndex(), 0, options.status === undefined ? limit - 1 : -1)
    const records: JobRecord[] = []
    // Read in concurrent chunks, not one job after another: the sweep lists by status over the whole index. (GETs,
    // not MGET: each job key has its own hash tag, so they may live on different cluster slots.)
    for (let start = 0; start < ids.length && records.length < limit; start += LIST_CHUNK) {
      const chunk = ids.slice(start, start + LIST_CHUNK)
      const raws = await Promise.all(chunk.map((id) => this.#redis.get(this.#keys.job(id))))
      for (const raw of raws) {
        if (raw === null) continue
        const record = JSON.parse(raw) as JobRecord
        if (options.status === undefined || record.status === options.status) records.push(record)
        if (records.length >= limit) break
      }
    }
    return records
  }
}
