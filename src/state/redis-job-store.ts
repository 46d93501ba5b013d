/**
 * JobStore on Redis: one JSON string per job (SET NX for idempotent creation), a sorted-set index of every job by
 * creation time, one of the unfinished jobs only — the sweep reads that one, so its work follows the jobs in flight,
 * not every job still kept — and one of the finished jobs whose final status is not known to be sent, by finish time.
 * A finished job's record expires after the retention (EX set in the same atomic step that finishes it); its index
 * entries are dropped by `forgetExpired`.
 */
import type { Redis } from 'ioredis'
import type { KeySpace } from './keys.js'
import { COMPARE_AND_SET_LUA } from './lua/scripts.js'
import {
  DEFAULT_JOB_RETENTION_SECONDS,
  applyJobUpdate,
  isFinished,
  newJobRecord,
  type JobGuard,
  type JobRecord,
  type JobStatus,
  type JobStore,
  type JobStoreOptions,
  type JobUpdate,
  type JobUpdateResult,
} from './job-store.js'

const LIST_CHUNK = 200
/** Index entries looked at per `forgetExpired` call (it runs every sweep, so a backlog drains over a few). */
const FORGET_BATCH = 2_000

type CompareAndSet = (key: string, expected: string, next: string, ttlSeconds: number) => Promise<number>

export class RedisJobStore implements JobStore {
  readonly #redis: Redis
  readonly #keys: KeySpace
  readonly #ttlSeconds: number
  #openIndexChecked = false

  constructor(redis: Redis, keys: KeySpace, options: JobStoreOptions = {}) {
    this.#redis = redis
    this.#keys = keys
    this.#ttlSeconds = options.finishedTtlSeconds ?? DEFAULT_JOB_RETENTION_SECONDS
    if (!('mvadJobCompareAndSet' in redis))
      redis.defineCommand('mvadJobCompareAndSet', { numberOfKeys: 1, lua: COMPARE_AND_SET_LUA })
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
      await Promise.all([
        this.#redis.zadd(this.#keys.jobIndex(), now.getTime(), jobId),
        this.#redis.zadd(this.#keys.openJobIndex(), now.getTime(), jobId),
      ])
      return { created: true, record }
    }
    const existing = await this.get(jobId)
    // The record and its index entries are separate writes: a process that died between them left a job the sweep
    // cannot find. Its redelivered command lands here, so the entries are (re)made — NX keeps existing ones as they are.
    if (existing !== undefined) {
      const created = Date.parse(existing.createdTime)
      await this.#redis.zadd(this.#keys.jobIndex(), 'NX', created, jobId)
      if (!isFinished(existing.status)) await this.#redis.zadd(this.#keys.openJobIndex(), 'NX', created, jobId)
      if (existing.finalStatusUnsent === true)
        await this.#redis.zadd(this.#keys.unsentFinalIndex(), 'NX', Date.parse(existing.lastUpdatedTime), jobId)
    }
    return { created: false, record: existing ?? record }
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    const raw = await this.#redis.get(this.#keys.job(jobId))
    return raw === null ? undefined : (JSON.parse(raw) as JobRecord)
  }

  async update(jobId: string, update: JobUpdate, now: Date, guard?: JobGuard): Promise<JobUpdateResult> {
    const compareAndSet = (this.#redis as unknown as { mvadJobCompareAndSet: CompareAndSet }).mvadJobCompareAndSet
    for (let attempt = 0; attempt < 10; attempt++) {
      const raw = await this.#redis.get(this.#keys.job(jobId))
      if (raw === null) return { ok: false, reason: 'not_found' }
      const record = JSON.parse(raw) as JobRecord
      if (guard !== undefined && !guard(JSON.parse(raw) as JobRecord))
        return { ok: false, reason: 'guard_failed', record }
      const next = applyJobUpdate(record, update, now)
      if (next === undefined) return { ok: false, reason: 'illegal_transition', record }
      const finishing = !isFinished(record.status) && isFinished(next.status)
      // Indexed before the write that marks it, so that no crash leaves a marked job the sweep cannot find. If that
      // write does not happen, listUnsentFinal keeps the entry while the job is unfinished (it is indexed again when
      // it finishes) and drops it once the job is gone or finished without a mark.
      if (finishing) await this.#redis.zadd(this.#keys.unsentFinalIndex(), now.getTime(), jobId)
      // Finishing starts the retention; a finished job's later (delivery) updates keep the expiry it has.
      const ttl = isFinished(record.status) ? -1 : finishing ? this.#ttlSeconds : 0
      if ((await compareAndSet.call(this.#redis, this.#keys.job(jobId), raw, JSON.stringify(next), ttl)) === 1) {
        // A crash before these ZREMs leaves entries that `list` and `listUnsentFinal` drop when they meet them.
        if (finishing) await this.#redis.zrem(this.#keys.openJobIndex(), jobId)
        if (isFinished(next.status) && next.finalStatusUnsent !== true)
          await this.#redis.zrem(this.#keys.unsentFinalIndex(), jobId)
        return { ok: true, record: next }
      }
    }
    throw new Error(`job ${jobId} keeps changing; giving up after 10 attempts`)
  }

  async list(options: { status?: JobStatus; limit?: number } = {}): Promise<JobRecord[]> {
    const limit = options.limit ?? 100
    const status = options.status
    if (status !== undefined && !isFinished(status)) {
      await this.#backfillOpenIndex()
      const open = await this.#indexed(this.#keys.openJobIndex(), 'newest', (r) => !isFinished(r.status))
      return open.filter((r) => r.status === status).slice(0, limit)
    }
    const ids = await this.#redis.zrevrange(this.#keys.jobIndex(), 0, status === undefined ? limit - 1 : -1)
    const records: JobRecord[] = []
    // Read in concurrent chunks, not one job after another. (GETs, not MGET: each job key has its own hash tag, so
    // they may live on different cluster slots.)
    for (let start = 0; start < ids.length && records.length < limit; start += LIST_CHUNK) {
      const raws = await this.#getChunk(ids.slice(start, start + LIST_CHUNK))
      for (const record of raws) {
        if (record === undefined || records.length >= limit) continue
        if (status === undefined || record.status === status) records.push(record)
      }
    }
    return records
  }

  async listUnsentFinal(limit: number): Promise<JobRecord[]> {
    // An unfinished job here is one whose finishing write is in flight (or failed its guard): kept, not listed.
    const index = this.#keys.unsentFinalIndex()
    const records = await this.#indexed(index, 'oldest', (r) => !isFinished(r.status) || r.finalStatusUnsent === true)
    return records.filter((r) => isFinished(r.status)).slice(0, limit)
  }

  /**
   * The records of an index's jobs, newest or oldest first, that `belongs` keeps; entries whose job is gone or does
   * not belong (left by a crash between two writes) are dropped from the index on the way.
   */
  async #indexed(
    index: string,
    order: 'newest' | 'oldest',
    belongs: (record: JobRecord) => boolean,
  ): Promise<JobRecord[]> {
    const ids = order === 'newest' ? await this.#redis.zrevrange(index, 0, -1) : await this.#redis.zrange(index, 0, -1)
    const records: JobRecord[] = []
    const stale: string[] = []
    for (let start = 0; start < ids.length; start += LIST_CHUNK) {
      const chunk = ids.slice(start, start + LIST_CHUNK)
      const raws = await this.#getChunk(chunk)
      raws.forEach((record, i) => {
        if (record === undefined || !belongs(record)) stale.push(chunk[i] as string)
        else records.push(record)
      })
    }
    if (stale.length > 0) await this.#redis.zrem(index, ...stale)
    return records
  }

  async #getChunk(ids: readonly string[]): Promise<(JobRecord | undefined)[]> {
    const raws = await Promise.all(ids.map((id) => this.#redis.get(this.#keys.job(id))))
    return raws.map((raw) => (raw === null ? undefined : (JSON.parse(raw) as JobRecord)))
  }

  /**
   * Jobs recorded before the open index existed (an older release) are not in it, and the sweep would never see
   * them: the first open-only listing of a deployment walks the full index once and adds the unfinished ones (NX, so
   * two instances doing it at once agree), then leaves a marker.
   */
  async #backfillOpenIndex(): Promise<void> {
    if (this.#openIndexChecked) return
    const marker = `${this.#keys.openJobIndex()}:complete`
    if ((await this.#redis.exists(marker)) === 0) {
      const ids = await this.#redis.zrange(this.#keys.jobIndex(), 0, -1)
      for (let start = 0; start < ids.length; start += LIST_CHUNK) {
        const chunk = ids.slice(start, start + LIST_CHUNK)
        for (const record of await this.#getChunk(chunk)) {
          if (record !== undefined && !isFinished(record.status))
            await this.#redis.zadd(this.#keys.openJobIndex(), 'NX', Date.parse(record.createdTime), record.jobId)
        }
      }
      await this.#redis.set(marker, new Date().toISOString())
    }
    this.#openIndexChecked = true
  }

  async forgetExpired(now: Date): Promise<number> {
    if (this.#ttlSeconds === 0) return 0
    // Only jobs created before the retention window can have expired; those still there finished recently or are
    // still open, and are few.
    const cutoff = now.getTime() - this.#ttlSeconds * 1000
    const ids = await this.#redis.zrangebyscore(this.#keys.jobIndex(), '-inf', cutoff, 'LIMIT', 0, FORGET_BATCH)
    const gone: string[] = []
    for (let start = 0; start < ids.length; start += LIST_CHUNK) {
      const chunk = ids.slice(start, start + LIST_CHUNK)
      const exists = await Promise.all(chunk.map((id) => this.#redis.exists(this.#keys.job(id))))
      exists.forEach((n, i) => {
        if (n === 0) gone.push(chunk[i] as string)
      })
    }
    if (gone.length > 0) {
      await this.#redis.zrem(this.#keys.jobIndex(), ...gone)
      await this.#redis.zrem(this.#keys.openJobIndex(), ...gone)
      await this.#redis.zrem(this.#keys.unsentFinalIndex(), ...gone)
    }
    return gone.length
  }
}
