/** ResultStore on Redis: one JSON string per result with an expiry (SET EX). */
import type { Redis } from 'ioredis'
import type { KeySpace } from './keys.js'
import type { BatchResultRecord, ResultStore } from './result-store.js'

export class RedisResultStore implements ResultStore {
  readonly #redis: Redis
  readonly #keys: KeySpace

  constructor(redis: Redis, keys: KeySpace) {
    this.#redis = redis
    this.#keys = keys
  }

  async put(record: BatchResultRecord, ttlSeconds: number): Promise<void> {
    await this.#redis.set(
      this.#keys.batchResult(record.resultId),
      JSON.stringify(record),
      'EX',
      Math.max(1, ttlSeconds),
    )
  }

  async get(resultId: string): Promise<BatchResultRecord | undefined> {
    const raw = await this.#redis.get(this.#keys.batchResult(resultId))
    return raw === null ? undefined : (JSON.parse(raw) as BatchResultRecord)
  }
}
